import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { loadModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { effectiveWorkers, planShards, predictLogitsParallel } from '@/lib/ml/parallel-predict';
import { predictLogits } from '@/lib/ml/predict';
import { createRng } from '@/lib/ml/random';

const K = FASHION_MNIST_CLASSES.length;
const COUNT = 2_500;

/** Random images: every row of logits differs, so a shuffled or shifted shard shows. */
function randomPixels(count: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng() * 256);
  return pixels;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('predictLogitsParallel', () => {
  let dir: string;
  let pixels: Uint8Array;
  let reference: Float32Array;

  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-parallel-'));
    await saveUntrainedModel(path.join(dir, 'model'), {
      arch: 'lenet5',
      classNames: [...FASHION_MNIST_CLASSES],
      seed: 7,
    });
    pixels = randomPixels(COUNT, 11);
    const { model } = await loadModel(path.join(dir, 'model'));
    reference = await predictLogits(model, pixels, COUNT);
    model.dispose();
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('splits items into contiguous shards that cover every item once', () => {
    expect(planShards(2_501, 2)).toEqual([
      { start: 0, count: 1_251 },
      { start: 1_251, count: 1_250 },
    ]);
    expect(effectiveWorkers(1_999, 2)).toBe(1);
    expect(effectiveWorkers(2_500, 8)).toBe(2);
  });

  it('returns the single-process logits, in input order, from two workers', async () => {
    const progress: number[] = [];
    const before = pixels.slice();
    const logits = await predictLogitsParallel({
      modelDir: path.join(dir, 'model'),
      pixels,
      count: COUNT,
      workers: 2,
      batchSize: 256,
      onProgress: (done) => progress.push(done),
    });
    expect(logits.length).toBe(COUNT * K);
    expect(maxAbsDiff(logits, reference)).toBeLessThan(1e-5);
    // The caller's pixels are still there (shards are copies that are moved, not the input).
    expect(pixels).toEqual(before);
    expect(progress.at(-1)).toBe(COUNT);
  });

  it('keeps order when the input is reversed', async () => {
    const reversed = new Uint8Array(pixels.length);
    for (let i = 0; i < COUNT; i++)
      reversed.set(
        pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
        (COUNT - 1 - i) * PIXELS_PER_IMAGE,
      );
    const logits = await predictLogitsParallel({
      modelDir: path.join(dir, 'model'),
      pixels: reversed,
      count: COUNT,
      workers: 2,
    });
    const expected = new Float32Array(COUNT * K);
    for (let i = 0; i < COUNT; i++) expected.set(reference.subarray(i * K, (i + 1) * K), (COUNT - 1 - i) * K);
    expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-5);
  });

  it('scores in-process with workers = 1', async () => {
    const logits = await predictLogitsParallel({ modelDir: path.join(dir, 'model'), pixels, count: 300, workers: 1 });
    expect(maxAbsDiff(logits, reference.subarray(0, 300 * K))).toBeLessThan(1e-5);
  });

  it('predicts a few images in a worker thread with background, leaving the calling thread free', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const logits = await predictLogitsParallel({
      modelDir: path.join(dir, 'model'),
      pixels,
      count: 300,
      background: true,
    });
    clearInterval(timer);
    expect(maxAbsDiff(logits, reference.subarray(0, 300 * K))).toBeLessThan(1e-5);
    // The event loop kept running while the worker started and predicted.
    expect(ticks).toBeGreaterThan(5);
    expect(
      await predictLogitsParallel({ modelDir: path.join(dir, 'model'), pixels, count: 0, background: true }),
    ).toHaveLength(0);
  });

  it("reports a worker's failure instead of hanging", async () => {
    await expect(
      predictLogitsParallel({ modelDir: path.join(dir, 'missing'), pixels, count: COUNT, workers: 2 }),
    ).rejects.toThrow(/No model at/);
  });

  it('rejects pixels that do not hold count images', async () => {
    await expect(
      predictLogitsParallel({ modelDir: path.join(dir, 'model'), pixels: new Uint8Array(10), count: 2 }),
    ).rejects.toThrow(/Expected 2 images/);
  });
});
