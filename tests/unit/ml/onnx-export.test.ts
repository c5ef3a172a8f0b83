import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdxSplit } from '@/lib/formats/idx';
import { initBackend } from '@/lib/ml/backend';
import { ARCHITECTURES, createModel, type Architecture } from '@/lib/ml/model';
import { loadModel, saveModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { exportSavedModelToOnnx } from '@/lib/ml/onnx/export';
import { decodeOnnxModel } from '@/lib/ml/onnx/graph-builder';
import { ensureOnnxModel, exportModelDir, ONNX_FILE } from '@/lib/ml/onnx/model-file';
import { parseSavedLayersModel, readSavedLayersModel } from '@/lib/ml/onnx/saved-layers';
import { createOnnxLogitsModel } from '@/lib/ml/onnx/session';
import { predictLogits } from '@/lib/ml/predict';
import { createRng } from '@/lib/ml/random';
import { loadOnnxRuntime } from '@/lib/ml/scorer';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';

/*
 * The ONNX export against TensorFlow.js itself: ONNX Runtime's logits for 1,000 Fashion-MNIST
 * test images must match tfjs's (wasm backend) within 1e-4 and give the same class for every
 * image, for each architecture and for the shipped model.
 */
const COUNT = 1000;
const DATASET = path.resolve('datasets/fashion-mnist');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-onnx-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let pixels: Uint8Array;
beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  pixels = readIdxSplit(DATASET, 't10k').images.pixels.subarray(0, COUNT * 784);
});

/**
 * An untrained model whose batch-norm layers have non-trivial statistics (fresh ones are
 * mean 0, variance 1, scale 1, offset 0, which would hide a folding mistake).
 */
async function saveModelWithBatchNormStats(dir: string, arch: Architecture): Promise<void> {
  await saveUntrainedModel(dir, { arch, classNames: [...FASHION_MNIST_CLASSES], seed: 5 });
  const { model, meta } = await loadModel(dir);
  const rng = createRng(17);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const [gamma, beta, mean, variance] = layer.getWeights().map((w) => w.shape[0]!);
    layer.setWeights([
      tf.tensor1d(Array.from({ length: gamma! }, () => 0.5 + rng())),
      tf.tensor1d(Array.from({ length: beta! }, () => rng() - 0.5)),
      tf.tensor1d(Array.from({ length: mean! }, () => (rng() - 0.5) * 0.4)),
      tf.tensor1d(Array.from({ length: variance! }, () => 0.2 + rng() * 2)),
    ]);
  }
  await saveModel(dir, model, meta);
  model.dispose();
}

async function compareWithTfjs(dir: string, tta: 'none' | 'hflip' = 'none') {
  const { model } = await loadModel(dir);
  const expected = await predictLogits(model, pixels, COUNT, { testTimeAugmentation: tta });
  model.dispose();
  const ort = await loadOnnxRuntime();
  const onnx = await createOnnxLogitsModel(ort, readFileSync(path.join(dir, ONNX_FILE)), { threads: 1 });
  const actual = await onnx.predictLogits(pixels, COUNT, { testTimeAugmentation: tta });
  await onnx.dispose();
  const k = expected.length / COUNT;
  let maxDiff = 0;
  let sameClass = 0;
  for (let i = 0; i < COUNT; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < k; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(expected[i * k + j]! - actual[i * k + j]!));
      if (expected[i * k + j]! > expected[i * k + a]!) a = j;
      if (actual[i * k + j]! > actual[i * k + b]!) b = j;
    }
    if (a === b) sameClass++;
  }
  return { maxDiff, sameClass, length: actual.length, expectedLength: expected.length };
}

describe('ONNX export matches tfjs on 1,000 test images', () => {
  for (const arch of ARCHITECTURES) {
    it(`${arch}: logits within 1e-4, same class for every image`, async () => {
      const dir = path.join(tmp, arch);
      await saveModelWithBatchNormStats(dir, arch);
      const result = await compareWithTfjs(dir);
      expect(result.length).toBe(result.expectedLength);
      console.log(`${arch}: max abs logit difference ${result.maxDiff.toExponential(2)}`);
      expect(result.maxDiff).toBeLessThan(1e-4);
      expect(result.sameClass).toBe(COUNT);
    });
  }

  it('the shipped model (models/production), with its mirror averaging, within 1e-4', async () => {
    // The committed model.onnx must be the one the exporter writes today.
    const committed = readFileSync(path.resolve('models/production', ONNX_FILE));
    expect(Buffer.from(exportModelDir('models/production')).equals(committed)).toBe(true);
    const result = await compareWithTfjs(path.resolve('models/production'), 'hflip');
    console.log(`production: max abs logit difference ${result.maxDiff.toExponential(2)}`);
    expect(result.maxDiff).toBeLessThan(1e-4);
    expect(result.sameClass).toBe(COUNT);
  });
});

describe('ONNX export', () => {
  it('gives the same bytes twice, and saveModel writes the same bytes', async () => {
    const dir = path.join(tmp, 'det');
    await saveUntrainedModel(dir, { arch: 'cnn', classNames: ['a', 'b'], seed: 3 });
    const first = exportModelDir(dir);
    const second = exportModelDir(dir);
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(true);
    expect(Buffer.from(first).equals(readFileSync(path.join(dir, ONNX_FILE)))).toBe(true);
  });

  it('exports again a model.onnx that an older exporter (or someone else) wrote', async () => {
    const dir = path.join(tmp, 'stale');
    await saveUntrainedModel(dir, { arch: 'mlp', classNames: ['a', 'b'], seed: 8 });
    expect(ensureOnnxModel(dir).exported).toBe(false);
    writeFileSync(path.join(dir, ONNX_FILE), 'not an onnx file');
    const again = ensureOnnxModel(dir);
    expect(again.exported).toBe(true);
    expect(readFileSync(path.join(dir, ONNX_FILE)).equals(Buffer.from(exportModelDir(dir)))).toBe(true);
  });

  it('writes opset 13, folds batch norm, leaves dropout out and keeps the class names', () => {
    const decoded = decodeOnnxModel(exportModelDir('models/production'));
    expect(Number(decoded.opsetImport[0]?.version)).toBe(13);
    const ops = (decoded.graph?.node ?? []).map((n) => n.opType ?? '');
    expect(ops.filter((op) => op === 'Conv')).toHaveLength(4);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops.some((op) => /dropout/i.test(op))).toBe(false);
    expect(ops.filter((op) => op === 'Gemm')).toHaveLength(2);
    const classNames = decoded.metadataProps.find((p) => p.key === 'class_names')?.value;
    expect(JSON.parse(classNames!)).toEqual([...FASHION_MNIST_CLASSES]);
  });

  it('refuses a layer it does not know with a sentence naming the layer', async () => {
    const model = createModel('mlp', { numClasses: 3 });
    const odd = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 2, kernelSize: 3 }),
        tf.layers.upSampling2d({ size: [2, 2], name: 'upsample_here' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    const dir = path.join(tmp, 'odd');
    await saveModel(dir, odd, {
      ...(await saveUntrainedModel(path.join(tmp, 'meta-source'), { arch: 'mlp', classNames: ['a', 'b', 'c'] })),
    });
    model.dispose();
    odd.dispose();
    expect(() => exportSavedModelToOnnx(readSavedLayersModel(dir))).toThrow(
      /Cannot export layer "upsample_here" \(UpSampling2D\) to ONNX: the exporter does not know UpSampling2D layers/,
    );
    // saveModel still saved the model, without a broken ONNX file.
    expect(() => readFileSync(path.join(dir, ONNX_FILE))).toThrow();
    expect(readFileSync(path.join(dir, 'model.json')).length).toBeGreaterThan(0);
  });

  it('reads a functional model by its inbound layers, and refuses two outputs or a shared layer with a sentence', async () => {
    // The residual net's topology: every Add reads two layers, one of them a skip connection.
    const saved = readSavedLayersModel(path.join(tmp, 'resnet20'));
    const adds = saved.layers.filter((layer) => layer.className === 'Add');
    expect(adds).toHaveLength(9);
    for (const add of adds) expect(add.inbound).toHaveLength(2);
    expect(saved.layers.find((layer) => layer.name === saved.output)?.className).toBe('Dense');
    const onnx = decodeOnnxModel(readFileSync(path.join(tmp, 'resnet20', ONNX_FILE)));
    // Every batch norm folds into its conv, even where the block's input is read twice.
    const ops = (onnx.graph?.node ?? []).map((n) => n.opType ?? '');
    expect(ops.filter((op) => op === 'Add')).toHaveLength(9);
    expect(ops.filter((op) => op === 'Conv')).toHaveLength(21);
    expect(ops).not.toContain('Mul');

    // Two models, each with its own input and flatten layer (disposing one disposes its layers).
    const pixels = () => {
      const input = tf.input({ shape: [28, 28, 1] });
      return { input, flat: tf.layers.flatten().apply(input) as tf.SymbolicTensor };
    };
    let { input, flat } = pixels();
    const twoOutputs = tf.model({
      inputs: input,
      outputs: [
        tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor,
        tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor,
      ],
    });
    const shared = tf.layers.dense({ units: 8, name: 'used_twice' });
    ({ input, flat } = pixels());
    const eight = tf.layers.dense({ units: 8 }).apply(flat) as tf.SymbolicTensor;
    const twice = shared.apply(shared.apply(eight)) as tf.SymbolicTensor;
    const sharedModel = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 3 }).apply(twice) as tf.SymbolicTensor,
    });
    const topologyOf = async (model: tf.LayersModel) => {
      let json: object = {};
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          json = { modelTopology: artifacts.modelTopology, weightsManifest: [{ weights: artifacts.weightSpecs }] };
          return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
        }),
      );
      return json;
    };
    await expect(
      topologyOf(twoOutputs).then((json) => parseSavedLayersModel(json, new Uint8Array(1 << 20))),
    ).rejects.toThrow(/Only models with one output can be exported to ONNX; this one has 2 outputs/);
    await expect(
      topologyOf(sharedModel).then((json) => parseSavedLayersModel(json, new Uint8Array(1 << 20))),
    ).rejects.toThrow(/Cannot export layer "used_twice" to ONNX: it is applied 2 times/);
    twoOutputs.dispose();
    sharedModel.dispose();
  });

  it('npm run export-model writes the same file, and names a missing model in one line', async () => {
    const run = promisify(execFile);
    const out = path.join(tmp, 'cli', 'cnn.onnx');
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      'scripts/export-model.ts',
      '--model',
      'models/production',
      '--out',
      out,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ format: 'onnx', out });
    expect(readFileSync(out).equals(readFileSync(path.resolve('models/production', ONNX_FILE)))).toBe(true);
    const failed = await run(
      process.execPath,
      ['--import', 'tsx', 'scripts/export-model.ts', '--model', path.join(tmp, 'nowhere')],
      {
        env: { ...process.env, LOUPE_DB: path.join(tmp, 'cli.db') },
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect('code' in failed && failed.code).toBe(1);
    expect((failed as { stderr: string }).stderr.trim()).toMatch(
      /^error: No model folder at .*nowhere and no model version with that id or name/,
    );
  });
});
