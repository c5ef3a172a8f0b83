import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { MAX_CACHED_CLASSIFIERS, withClassifier } from '@/lib/ml/classifier';
import { saveUntrainedModel } from '@/lib/ml/model-store';
import { MAX_ONNX_SESSIONS } from '@/lib/ml/onnx/session';
import { onnxSessionKeys, predictLogitsInOnnxWorker, stopOnnxWorker } from '@/lib/ml/onnx/worker-client';
import { initBackend } from '@/lib/ml/backend';

/*
 * A long-lived worker scores with every version a training makes. Each loaded model stayed
 * loaded for the life of the process (50-65 MB of ONNX Runtime session each, measured): the
 * worker grew with every training. Now both caches keep the most recently used few.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-model-cache-'));
const dirs = Array.from({ length: 6 }, (_, i) => path.join(tmp, `v${i}`));
const pixels = new Uint8Array(8 * 784).map((_, i) => (i * 37) % 256);

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  for (const [i, dir] of dirs.entries())
    await saveUntrainedModel(dir, { arch: 'mlp', classNames: [...FASHION_MNIST_CLASSES], seed: i + 1 });
});
afterAll(async () => {
  await stopOnnxWorker();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the scoring thread', () => {
  const score = (dir: string) => predictLogitsInOnnxWorker({ modelDir: dir, pixels, count: 8, threads: 1 });

  it(`keeps the ${MAX_ONNX_SESSIONS} sessions used last, and scores with an evicted version again`, async () => {
    const first = await score(dirs[0]!);
    for (const dir of dirs.slice(1)) await score(dir);
    expect(await onnxSessionKeys()).toEqual(dirs.slice(-MAX_ONNX_SESSIONS).map((d) => `1:${d}`));
    // Used again, an older one becomes the last to go.
    await score(dirs[2]!);
    expect((await onnxSessionKeys()).at(-1)).toBe(`1:${dirs[2]}`);
    // Evicted, a version loads again and scores as before.
    expect(await score(dirs[0]!)).toEqual(first);
    const keys = await onnxSessionKeys();
    expect(keys).toHaveLength(MAX_ONNX_SESSIONS);
    expect(keys.at(-1)).toBe(`1:${dirs[0]}`);
  });
});

describe('withClassifier', () => {
  const cached = () => [
    ...((globalThis as { __loupeClassifierCache?: Map<string, unknown> }).__loupeClassifierCache?.keys() ?? []),
  ];

  it(`keeps the ${MAX_CACHED_CLASSIFIERS} classifiers used last`, async () => {
    for (const dir of dirs) await withClassifier(dir, (c) => c.predictLogits(pixels, 8));
    expect(cached()).toEqual(dirs.slice(-MAX_CACHED_CLASSIFIERS));
  });

  it('never disposes a classifier that a call is still using', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = withClassifier(dirs[0]!, async (c) => {
      await gate;
      return c.predictLogits(pixels, 8);
    });
    for (const dir of dirs.slice(1)) await withClassifier(dir, (c) => c.predictLogits(pixels, 8));
    // Least recently used, but in use: kept beyond the bound.
    expect(cached()).toContain(dirs[0]);
    release();
    expect(await held).toHaveLength(80);
    expect(cached()).toHaveLength(MAX_CACHED_CLASSIFIERS);
  });
});
