import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdxSplit } from '@/lib/formats/idx';
import { CALIBRATION_IMAGES } from '@/lib/ml/activation-ranges';
import { initBackend } from '@/lib/ml/backend';
import { ARCHITECTURES } from '@/lib/ml/model';
import { loadModel, readModelMeta, saveModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { decodeOnnxModel } from '@/lib/ml/onnx/graph-builder';
import { exportInt8ModelDir, INT8_ONNX_FILE, ONNX_FILE } from '@/lib/ml/onnx/model-file';
import { onnxPrecisionFor } from '@/lib/ml/onnx/precision';
import { quantizeWeights } from '@/lib/ml/onnx/quantize';
import { createOnnxLogitsModel } from '@/lib/ml/onnx/session';
import { argmaxRows } from '@/lib/ml/predict';
import { loadOnnxRuntime } from '@/lib/ml/scorer';

/*
 * The int8 export (model.int8.onnx, LOUPE_ONNX_PRECISION=int8) against the float32 one, in
 * ONNX Runtime on 1,000 Fashion-MNIST test images: ONNX Runtime must fuse it into its int8
 * kernels, and the shipped model must keep its class on nearly every image and its accuracy.
 */
const COUNT = 1000;
const DATASET = path.resolve('datasets/fashion-mnist');
/** The training split is not in the repository: Debian's dataset-fashion-mnist (LOUPE_DATASET_DIR's default). */
const TRAIN_DATASET = '/usr/share/datasets/fashion-mnist';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-onnx-int8-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let test: { pixels: Uint8Array; labels: Uint8Array };
let train: { pixels: Uint8Array; count: number };
beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  const t10k = readIdxSplit(DATASET, 't10k');
  test = { pixels: t10k.images.pixels.subarray(0, COUNT * 784), labels: t10k.labels.subarray(0, COUNT) };
  const trainSplit = readIdxSplit(TRAIN_DATASET, 'train').images;
  train = { pixels: trainSplit.pixels.subarray(0, 1000 * 784), count: 1000 };
});

async function logitsOf(bytes: Uint8Array, tta: 'none' | 'hflip' = 'none') {
  const ort = await loadOnnxRuntime();
  const optimized = path.join(tmp, `optimized-${Math.random().toString(36).slice(2)}.onnx`);
  // The graph ONNX Runtime actually runs, after its fusions (this file is for the test only).
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'extended',
    optimizedModelFilePath: optimized,
  });
  await session.release();
  const model = await createOnnxLogitsModel(ort, bytes, { threads: 1 });
  const logits = await model.predictLogits(test.pixels, COUNT, { testTimeAugmentation: tta });
  await model.dispose();
  const ops = (decodeOnnxModel(readFileSync(optimized)).graph?.node ?? []).map((n) => n.opType ?? '');
  return { logits, ops };
}

describe('int8 ONNX export', () => {
  it('the shipped model: int8 kernels, the same class on >= 99% of images, accuracy within 0.5 points', async () => {
    const dir = path.resolve('models/production');
    // The committed file is the one the exporter writes today from meta.json's calibration.
    const committed = readFileSync(path.join(dir, INT8_ONNX_FILE));
    expect(Buffer.from(exportInt8ModelDir(dir)!).equals(committed)).toBe(true);
    const fp32 = await logitsOf(readFileSync(path.join(dir, ONNX_FILE)), 'hflip');
    const int8 = await logitsOf(committed, 'hflip');
    expect(int8.ops.filter((op) => op === 'QLinearConv')).toHaveLength(4);
    expect(int8.ops).toContain('QGemm');
    expect(int8.ops).not.toContain('Conv');
    expect(fp32.ops).not.toContain('QLinearConv');
    const a = Array.from(argmaxRows(fp32.logits, 10));
    const b = Array.from(argmaxRows(int8.logits, 10));
    const same = a.filter((c, i) => c === b[i]).length;
    const accuracy = (classes: number[]) => classes.filter((c, i) => c === test.labels[i]).length / COUNT;
    console.log(`production int8: same class ${same}/${COUNT}, accuracy ${accuracy(b)} vs ${accuracy(a)}`);
    expect(same).toBeGreaterThanOrEqual(0.99 * COUNT);
    expect(Math.abs(accuracy(a) - accuracy(b))).toBeLessThanOrEqual(0.005);
  });

  for (const arch of ARCHITECTURES) {
    it(`${arch}: saveModel with calibration images writes the calibration and a model.int8.onnx ONNX Runtime loads`, async () => {
      const dir = path.join(tmp, arch);
      const meta = await saveUntrainedModel(dir, {
        arch,
        classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      });
      const { model } = await loadModel(dir);
      await saveModel(dir, model, meta, { calibrationImages: train });
      model.dispose();
      const saved = readModelMeta(dir);
      expect(saved.int8?.images).toBe(Math.min(CALIBRATION_IMAGES, train.count));
      expect(Object.keys(saved.int8?.ranges ?? {}).length).toBeGreaterThan(0);
      const bytes = readFileSync(path.join(dir, INT8_ONNX_FILE));
      expect(Buffer.from(exportInt8ModelDir(dir)!).equals(bytes)).toBe(true);
      const fp32 = await logitsOf(readFileSync(path.join(dir, ONNX_FILE)));
      const int8 = await logitsOf(bytes);
      expect(int8.ops.some((op) => op === 'QLinearConv' || op === 'QGemm')).toBe(true);
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < fp32.logits.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(fp32.logits[i]!));
        maxDiff = Math.max(maxDiff, Math.abs(fp32.logits[i]! - int8.logits[i]!));
      }
      console.log(`${arch} int8: max logit difference ${maxDiff.toFixed(4)} of logits up to ${maxAbs.toFixed(3)}`);
      expect(maxDiff).toBeLessThan(0.1 * maxAbs);
    });
  }

  it('a version saved without calibration has no int8 export and is scored in float32 even when int8 is asked for', async () => {
    const dir = path.join(tmp, 'plain');
    const meta = await saveUntrainedModel(dir, { arch: 'mlp', classNames: ['a', 'b'] });
    expect(meta.int8).toBeUndefined();
    expect(existsSync(path.join(dir, INT8_ONNX_FILE))).toBe(false);
    expect(exportInt8ModelDir(dir)).toBeNull();
    expect(onnxPrecisionFor(meta, 'int8')).toBe('fp32');
    expect(onnxPrecisionFor(readModelMeta('models/production'), 'int8')).toBe('int8');
    expect(onnxPrecisionFor(readModelMeta('models/production'), 'fp32')).toBe('fp32');
    // The default is float32.
    expect(onnxPrecisionFor(readModelMeta('models/production'))).toBe('fp32');
  });

  it('quantizes weights per output channel, symmetric, within half a step', () => {
    // Two output channels of a Conv ([out, ...]): scales 1/127 and 10/127.
    const weights = new Float32Array([0.5, -1, 0.25, 10, -5, 2.5]);
    const { values, scales } = quantizeWeights(weights, 2, false);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(10 / 127)]);
    expect(Array.from(values)).toEqual([64, -127, 32, 127, -64, 32]);
    for (let e = 0; e < weights.length; e++)
      expect(Math.abs(values[e]! * scales[Math.floor(e / 3)]! - weights[e]!)).toBeLessThanOrEqual(
        scales[Math.floor(e / 3)]! / 2,
      );
    // A channel of zeros keeps a positive scale.
    expect(quantizeWeights(new Float32Array([0, 0]), 1, false).scales[0]).toBe(1);
  });

  it('npm run quantize-model calibrates a folder and writes model.int8.onnx; a missing model is one line', async () => {
    const run = promisify(execFile);
    const dir = path.join(tmp, 'cli-model');
    cpSync('models/production', dir, { recursive: true });
    rmSync(path.join(dir, INT8_ONNX_FILE));
    const before = readModelMeta(dir);
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      'scripts/quantize-model.ts',
      '--model',
      dir,
      '--dataset',
      TRAIN_DATASET,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ model: dir, calibration: { images: CALIBRATION_IMAGES } });
    // The same training images, so the same calibration and the same bytes as the committed file.
    expect(readModelMeta(dir)).toEqual(before);
    expect(readFileSync(path.join(dir, INT8_ONNX_FILE)).equals(readFileSync('models/production/model.int8.onnx'))).toBe(
      true,
    );
    const failed = await run(process.execPath, [
      '--import',
      'tsx',
      'scripts/quantize-model.ts',
      '--model',
      path.join(tmp, 'nowhere'),
    ]).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(1);
    expect('stderr' in failed && failed.stderr).toMatch(/^error: No model folder at .*nowhere: model.json is missing/m);
  });

  it('npm run evaluate with LOUPE_ONNX_PRECISION=int8 scores in int8 and says so; a bad value is refused', async () => {
    const run = promisify(execFile);
    const args = ['--import', 'tsx', 'scripts/evaluate.ts', '--idx', DATASET, '--split', 't10k', '--json'];
    const { stdout } = await run(process.execPath, args, {
      env: { ...process.env, LOUPE_ONNX_PRECISION: 'int8', LOUPE_SCORER: 'onnx' },
    });
    const report = JSON.parse(stdout) as { scorer: string; precision: string; accuracy: number };
    expect(report).toMatchObject({ scorer: 'onnx', precision: 'int8' });
    // The shipped model's floor (tests/unit/ml/shipped-model.test.ts) holds in int8 too.
    expect(report.accuracy).toBeGreaterThanOrEqual(0.937);
    // A folder without calibration: float32, and the log says why.
    const plain = path.join(tmp, 'uncalibrated');
    cpSync('models/production', plain, { recursive: true });
    const { int8: _int8, ...uncalibrated } = readModelMeta(plain);
    writeFileSync(path.join(plain, 'meta.json'), JSON.stringify(uncalibrated));
    rmSync(path.join(plain, INT8_ONNX_FILE));
    const fallback = await run(process.execPath, [...args, '--model', plain], {
      env: { ...process.env, LOUPE_ONNX_PRECISION: 'int8', LOUPE_SCORER: 'onnx' },
    });
    expect(JSON.parse(fallback.stdout)).toMatchObject({ scorer: 'onnx', precision: 'fp32' });
    expect(fallback.stderr).toContain(`${plain} has no int8 calibration, so it is scored in float32`);
    const failed = await run(process.execPath, args, {
      env: { ...process.env, LOUPE_ONNX_PRECISION: 'int4' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(1);
    expect('stderr' in failed && failed.stderr).toMatch(/LOUPE_ONNX_PRECISION/);
  });
});
