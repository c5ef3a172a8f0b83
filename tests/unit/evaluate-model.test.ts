import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runEvaluateCli } from '@/scripts/evaluate';

/*
 * The whole evaluate pipeline with a stand-in classifier, so it runs without tfjs or a
 * trained model: real IDX files on disk, fake logits, the CLI's JSON and text outputs.
 */
const fake = vi.hoisted(() => ({
  classNames: ['a', 'b', 'c'],
  disposed: 0,
  // Item i gets a logit margin of 4 on class (i % 3), except item 5, which it gets wrong.
  logitsFor(count: number, k: number): Float32Array {
    const logits = new Float32Array(count * k);
    for (let i = 0; i < count; i++) logits[i * k + (i === 5 ? 0 : i % 3)] = 4;
    return logits;
  },
}));

vi.mock('@/lib/ml/classifier', () => ({
  loadClassifier: async () => ({
    meta: { arch: 'fake-cnn', classNames: fake.classNames, temperature: 2, params: 42 },
    backend: 'cpu',
    predictLogits: async (_pixels: Uint8Array, count: number, opts?: { onProgress?: (d: number, t: number) => void }) => {
      opts?.onProgress?.(count, count);
      return fake.logitsFor(count, fake.classNames.length);
    },
    dispose: () => {
      fake.disposed += 1;
    },
  }),
}));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-evaluate-model-'));
const modelDir = path.join(tmp, 'model');
const idxDir = path.join(tmp, 'idx');
mkdirSync(modelDir);
mkdirSync(idxDir);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function writeIdxSplit(labels: number[]): void {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(labels.length, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  writeFileSync(path.join(idxDir, 't10k-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(labels.length * 784, 7)]));
  const labelHeader = Buffer.alloc(8);
  labelHeader.writeUInt32BE(0x801, 0);
  labelHeader.writeUInt32BE(labels.length, 4);
  writeFileSync(path.join(idxDir, 't10k-labels-idx1-ubyte'), Buffer.concat([labelHeader, Buffer.from(labels)]));
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runEvaluateCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

beforeEach(() => {
  fake.classNames = ['a', 'b', 'c'];
  fake.disposed = 0;
});

// vi.mock can only stand in for a module that exists; lib/ml/classifier.ts is written in
// parallel with this test. Remove the guard once it has landed.
const hasClassifier = existsSync(path.resolve(import.meta.dirname, '../../lib/ml/classifier.ts'));

describe.skipIf(!hasClassifier)('evaluate with a stand-in classifier', () => {
  it('prints exactly one JSON object on stdout with --json', async () => {
    writeIdxSplit([0, 1, 2, 0, 1, 2]);
    const { code, stdout, stderr } = await run(['--model', modelDir, '--idx', idxDir, '--json']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout);
    for (const key of ['accuracy', 'n', 'ece', 'eceUncalibrated', 'perClass', 'confusion', 'riskCoverage']) {
      expect(report).toHaveProperty(key);
    }
    expect(report).toMatchObject({ n: 6, accuracy: 5 / 6, backend: 'cpu', temperature: 2 });
    expect(report.model).toMatchObject({ arch: 'fake-cnn', params: 42, dir: modelDir, classNames: ['a', 'b', 'c'] });
    expect(report.confusion).toEqual([
      [2, 0, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    expect(report.imagesPerSecond).toBeGreaterThan(0);
    // T = 2 flattens the fake model's 0.96 confidence, so calibration error changes.
    expect(report.ece).not.toBeCloseTo(report.eceUncalibrated, 3);
    expect(stderr).toContain('predicted 6/6');
    expect(fake.disposed).toBe(1);
  });

  it('writes the text report to --out and keeps stdout empty', async () => {
    writeIdxSplit([0, 1, 2, 0, 1, 2]);
    const out = path.join(tmp, 'reports', 'eval.txt');
    const { code, stdout } = await run(['--model', modelDir, '--idx', idxDir, '--out', out]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('fake-cnn');
    expect(text).toContain('Accuracy: 83.33%');
  });

  it('refuses labels outside the model classes, and still disposes the model', async () => {
    fake.classNames = ['a', 'b'];
    writeIdxSplit([0, 1, 2]);
    const { code, stdout, stderr } = await run(['--model', modelDir, '--idx', idxDir, '--json']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n').at(-1)).toBe("error: Label 2 of item 2 is outside the model's 2 classes (0-1).");
    expect(fake.disposed).toBe(1);
  });
});
