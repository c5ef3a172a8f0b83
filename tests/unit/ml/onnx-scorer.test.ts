import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdxSplit } from '@/lib/formats/idx';
import { initBackend } from '@/lib/ml/backend';
import { loadClassifier, predictLogitsWithScorer } from '@/lib/ml/classifier';
import { loadModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { ONNX_FILE } from '@/lib/ml/onnx/model-file';
import { predictLogits } from '@/lib/ml/predict';
import { getScorer } from '@/lib/ml/scorer';

/*
 * The scorer as Loupe uses it: chosen once (ONNX Runtime here, where it installs), forced by
 * LOUPE_SCORER, exporting an old version's model.onnx on first use, and `npm run evaluate`
 * giving the same accuracy with either scorer.
 */
const run = promisify(execFile);
const COUNT = 2000;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-onnx-scorer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const idxDir = path.join(tmp, 'idx');
let pixels: Uint8Array;
beforeAll(() => {
  const { images, labels } = readIdxSplit(path.resolve('datasets/fashion-mnist'), 't10k');
  pixels = images.pixels.subarray(0, COUNT * 784);
  mkdirSync(idxDir);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(COUNT, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  writeFileSync(path.join(idxDir, 't10k-images-idx3-ubyte'), Buffer.concat([header, pixels]));
  const labelHeader = Buffer.alloc(8);
  labelHeader.writeUInt32BE(0x801, 0);
  labelHeader.writeUInt32BE(COUNT, 4);
  writeFileSync(path.join(idxDir, 't10k-labels-idx1-ubyte'), Buffer.concat([labelHeader, labels.subarray(0, COUNT)]));
});

async function evaluateWith(scorer: 'onnx' | 'tfjs') {
  const { stdout, stderr } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/evaluate.ts', '--model', 'models/production', '--idx', idxDir, '--json'],
    { env: { ...process.env, LOUPE_SCORER: scorer }, maxBuffer: 16 * 1024 * 1024 },
  );
  return {
    report: JSON.parse(stdout) as { accuracy: number; scorer: string; backend: string; confusion: number[][] },
    stderr,
  };
}

describe('the scorer', () => {
  it('npm run evaluate gives the same accuracy with ONNX Runtime and with tfjs, and says which ran', async () => {
    const onnx = await evaluateWith('onnx');
    const tfjs = await evaluateWith('tfjs');
    expect(onnx.report.scorer).toBe('onnx');
    expect(onnx.report.backend).toBe('onnxruntime');
    expect(onnx.stderr).toMatch(/\[loupe\] scorer: onnxruntime-node \d/);
    expect(tfjs.report.scorer).toBe('tfjs');
    expect(tfjs.stderr).toContain('[loupe] scorer: tfjs');
    expect(onnx.report.accuracy).toBeGreaterThan(0.9);
    expect(onnx.report.accuracy).toBe(tfjs.report.accuracy);
    expect(onnx.report.confusion).toEqual(tfjs.report.confusion);
  }, 180_000);

  it('is ONNX Runtime where onnxruntime-node loads, and exports an old version on first use', async () => {
    expect((await getScorer()).name).toBe('onnx');
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
    const dir = path.join(tmp, 'old-version');
    await saveUntrainedModel(dir, { arch: 'lenet5', classNames: ['a', 'b', 'c'], seed: 9 });
    // A version saved before export existed has no model.onnx.
    rmSync(path.join(dir, ONNX_FILE));
    const classifier = await loadClassifier(dir);
    expect(classifier.scorer).toBe('onnx');
    expect(existsSync(path.join(dir, ONNX_FILE))).toBe(true);
    const actual = await classifier.predictLogits(pixels, 300);
    classifier.dispose();
    const { model } = await loadModel(dir);
    const expected = await predictLogits(model, pixels, 300);
    model.dispose();
    let maxDiff = 0;
    for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs(expected[i]! - actual[i]!));
    expect(actual.length).toBe(300 * 3);
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('scores in a worker thread, leaving the calling thread free, with the same logits as in-thread', async () => {
    const dir = path.join(tmp, 'background');
    cpSync(path.resolve('models/production'), dir, { recursive: true });
    /** The longest the calling thread went without running a timer while `work` ran. */
    const longestStall = async (work: () => Promise<Float32Array>) => {
      let last = performance.now();
      let longest = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      }, 2);
      const logits = await work();
      clearInterval(timer);
      return { logits, longest };
    };
    // Scoring on this thread (tfjs: onnxruntime-node may be loaded by the scoring thread only):
    // one batch of 500 images, mirror averaged, blocks it.
    const { model } = await loadModel(dir);
    const inThread = await longestStall(() =>
      predictLogits(model, pixels, 500, { batchSize: 500, testTimeAugmentation: 'hflip' }),
    );
    model.dispose();
    const progress: number[] = [];
    const scored = await longestStall(() =>
      predictLogitsWithScorer({ modelDir: dir, pixels, count: 500, batchSize: 500 }),
    );
    const background = await longestStall(() =>
      predictLogitsWithScorer({
        modelDir: dir,
        pixels,
        count: 500,
        batchSize: 500,
        background: true,
        onProgress: (done) => progress.push(done),
      }),
    );
    for (const other of [scored, background]) {
      expect(other.logits.length).toBe(inThread.logits.length);
      // ONNX Runtime against tfjs: within 1e-4 (onnx-export.test.ts measures it).
      for (let i = 0; i < inThread.logits.length; i++) expect(other.logits[i]).toBeCloseTo(inThread.logits[i]!, 4);
      expect(other.longest).toBeLessThan(inThread.longest);
    }
    expect(progress.at(-1)).toBe(500);
  });
});
