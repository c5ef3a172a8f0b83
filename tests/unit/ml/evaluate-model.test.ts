import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { saveUntrainedModel } from '@/lib/ml/model-store';
import { runEvaluateCli } from '@/scripts/evaluate';

/*
 * The whole evaluate pipeline on a real (small, untrained) model saved to disk and real IDX
 * files: the CLI's JSON and text outputs, and its refusal of labels the model cannot know.
 */
async function saveSmallModel(dir: string, classNames: string[]): Promise<void> {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(dir, { arch: 'lenet5', classNames, temperature: 2, seed: 11 });
}

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
  writeFileSync(
    path.join(idxDir, 't10k-images-idx3-ubyte'),
    Buffer.concat([header, Buffer.alloc(labels.length * 784, 7)]),
  );
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

const twoClassDir = path.join(tmp, 'model-2');
beforeAll(async () => {
  await saveSmallModel(modelDir, ['a', 'b', 'c']);
  await saveSmallModel(twoClassDir, ['a', 'b']);
});

describe('evaluate a saved model', () => {
  it('prints exactly one JSON object on stdout with --json', async () => {
    writeIdxSplit([0, 1, 2, 0, 1, 2]);
    const { code, stdout, stderr } = await run(['--model', modelDir, '--idx', idxDir, '--json']);
    expect(code, stderr).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout);
    for (const key of [
      'accuracy',
      'n',
      'ece',
      'eceUncalibrated',
      'perClass',
      'confusion',
      'riskCoverage',
      'coverageAtError',
    ]) {
      expect(report).toHaveProperty(key);
    }
    expect(report).toMatchObject({ n: 6, temperature: 2 });
    expect(report.backend).toBe(report.scorer === 'onnx' ? 'onnxruntime' : 'wasm');
    expect(report.model).toMatchObject({ arch: 'lenet5', dir: modelDir, classNames: ['a', 'b', 'c'] });
    const confusion = report.confusion as number[][];
    expect(confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([2, 2, 2]);
    expect(report.accuracy).toBeCloseTo((confusion[0]![0]! + confusion[1]![1]! + confusion[2]![2]!) / 6, 10);
    expect(report.imagesPerSecond).toBeGreaterThan(0);
    expect(report.coverageAtError.map((p: { maxError: number }) => p.maxError)).toEqual([0.005, 0.01, 0.02]);
    // Every image is the same flat grey, so shifting changes only its border, not its class.
    expect(report.robustness).toMatchObject({ maxShift: 2, seed: 18 });
    expect(report.robustness.drop).toBeCloseTo(report.accuracy - report.robustness.shiftedAccuracy, 10);
    expect(stderr).toContain('predicted 6/6');
  });

  it('writes the text report to --out and keeps stdout empty', async () => {
    writeIdxSplit([0, 1, 2, 0, 1, 2]);
    const out = path.join(tmp, 'reports', 'eval.txt');
    const { code, stdout } = await run(['--model', modelDir, '--idx', idxDir, '--out', out]);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('lenet5');
    expect(text).toMatch(/Accuracy: \d+\.\d\d%/);
  });

  it('refuses labels outside the model classes, and still disposes the model', async () => {
    writeIdxSplit([0, 1, 2]);
    const { code, stdout, stderr } = await run(['--model', twoClassDir, '--idx', idxDir, '--json']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n').at(-1)).toBe("error: Label 2 of item 2 is outside the model's 2 classes (0-1).");
  });
});
