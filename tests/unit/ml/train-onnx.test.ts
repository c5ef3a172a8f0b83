import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, dropoutLayers, type Architecture } from '@/lib/ml/model';
import { parseSavedLayersModel } from '@/lib/ml/onnx/saved-layers';
import { buildTrainGraph } from '@/lib/ml/onnx/train-graph';
import { trainModel } from '@/lib/ml/train';
import { OnnxTrainStep } from '@/lib/ml/train-onnx';
import type { ArrayAdam } from '@/lib/ml/train-optimizer';
import { syntheticSet } from './fixtures';

// The ONNX Runtime training step against TensorFlow.js's `cpu` backend (plain JavaScript
// kernels, the reference): the same loss, every weight gradient, and the batch norms' moving
// statistics moved the same way, from the same weights and batch.

const K = 10;

/** Captures the gradients the step hands to the optimizer instead of applying them. */
function capturingOptimizer(): { optimizer: ArrayAdam; grads: () => Float32Array[] } {
  let captured: Float32Array[] = [];
  const optimizer = {
    apply: (shards: { grads: Float32Array[]; weight: number }[]) => {
      expect(shards).toHaveLength(1);
      captured = shards[0]!.grads.map((g) => g.slice());
      return [];
    },
  } as unknown as ArrayAdam;
  return { optimizer, grads: () => captured };
}

function relativeError(ref: Float32Array, got: Float32Array): number {
  expect(got.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-3);
}

async function compareStep(arch: Architecture, n: number) {
  await tf.setBackend('cpu');
  const model = createModel(arch, { numClasses: K, seed: 7 });
  const dropout = dropoutLayers(model);
  dropout.forEach((layer) => (layer.rate = 0));
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const pixels = new Float32Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((i * 7919) % 1000) / 1000;
  const labels = new Float32Array(n * K);
  for (let i = 0; i < n; i++) labels[i * K + ((i * 3) % K)] = 1;
  const moving = () => model.weights.filter((w) => /moving_(mean|variance)$/.test(w.originalName));
  const movingBefore = moving().map((w) => w.read().dataSync().slice());

  const x = tf.tensor4d(pixels, [n, 28, 28, 1]);
  const y = tf.tensor2d(labels, [n, K]);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    variables,
  );
  const refLoss = (await value.data())[0]!;
  const refGrads = variables.map((v) => grads[v.name]!.dataSync().slice() as Float32Array);
  const refMoving = moving().map((w) => w.read().dataSync().slice() as Float32Array);
  tf.dispose([x, y, value, ...Object.values(grads)]);
  moving().forEach((w, i) => w.write(tf.tensor(movingBefore[i]!, w.shape as number[])));

  const step = await OnnxTrainStep.start({ model, variables, numClasses: K, dropoutOff: true, threads: 1 });
  try {
    const { optimizer, grads: captured } = capturingOptimizer();
    const loss = await step.step(optimizer, pixels, labels, n, K);
    expect(Math.abs(loss - refLoss)).toBeLessThan(1e-5 * Math.max(1, refLoss));
    expect(captured()).toHaveLength(variables.length);
    captured().forEach((g, i) => expect(relativeError(refGrads[i]!, g), variables[i]!.name).toBeLessThan(1e-4));
    moving().forEach((w, i) =>
      expect(relativeError(refMoving[i]!, w.read().dataSync() as Float32Array), w.name).toBeLessThan(1e-5),
    );
  } finally {
    await step.dispose();
    model.dispose();
  }
}

describe('ONNX Runtime training step', () => {
  it('cnn: loss, every gradient and the moving statistics agree with the cpu backend', async () => {
    await compareStep('cnn', 6);
  }, 60_000);

  it('resnet20: the same through skip connections and strided convolutions', async () => {
    await compareStep('resnet20', 4);
  }, 120_000);

  it('refuses layers it cannot train, with a sentence naming the layer and the way out', async () => {
    await tf.setBackend('cpu');
    const graphFor = (arch: Architecture, dropoutOff: boolean) => {
      const model = createModel(arch, { numClasses: K, seed: 1 });
      const shapes = new Map<string, number[]>();
      for (const layer of model.layers)
        for (const w of layer.weights)
          shapes.set(`${layer.name}/${w.originalName.split('/').pop()}`, w.shape as number[]);
      const saved = parseSavedLayersModel({ modelTopology: model.toJSON(null, false) as never }, new Uint8Array(0));
      model.dispose();
      return () =>
        buildTrainGraph({
          model: saved,
          weightShapes: shapes,
          trainable: new Set(shapes.keys()),
          numClasses: K,
          dropoutOff,
        });
    };
    // lenet5 pools by averaging.
    expect(graphFor('lenet5', true)).toThrow(/Cannot train layer ".*" \(AveragePooling2D\).*--engine tfjs/);
    // The mlp, dropout on or off: Flatten, Dense with ReLU, Dropout.
    expect(graphFor('mlp', true)().grads.size).toBe(6);
    expect(graphFor('mlp', false)().grads.size).toBe(6);
  });

  it('dropout drops at random while training, seeded, and only when on', async () => {
    await tf.setBackend('cpu');
    const model = createModel('mlp', { numClasses: K, seed: 2 });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const n = 32;
    const pixels = new Float32Array(n * 784).map((_, i) => ((i * 31) % 97) / 97);
    const labels = new Float32Array(n * K);
    for (let i = 0; i < n; i++) labels[i * K + (i % K)] = 1;
    const lossesOf = async (dropoutOff: boolean) => {
      const step = await OnnxTrainStep.start({ model, variables, numClasses: K, dropoutOff, seed: 5, threads: 1 });
      const { optimizer } = capturingOptimizer();
      try {
        const first = await step.step(optimizer, pixels, labels, n, K);
        const second = await step.step(optimizer, pixels, labels, n, K);
        return { first, second };
      } finally {
        await step.dispose();
      }
    };
    const off = await lossesOf(true);
    const on = await lossesOf(false);
    const again = await lossesOf(false);
    // Without dropout the same weights and batch give the same loss; with it, each step draws a
    // new mask, and a run with the same seed draws the same masks.
    expect(off.second).toBe(off.first);
    expect(on.first).not.toBe(off.first);
    expect(on.second).not.toBe(on.first);
    expect(again.first).toBe(on.first);
    model.dispose();
  }, 60_000);

  it('trainModel with engine onnx learns a separable set and refuses inference-mode fine-tuning', async () => {
    await tf.setBackend('cpu');
    const model = createModel('cnn', { numClasses: K, seed: 3 });
    const train = syntheticSet(320, 1);
    const result = await trainModel({
      model,
      train,
      validation: syntheticSet(100, 2),
      numClasses: K,
      epochs: 3,
      batchSize: 32,
      learningRate: 3e-3,
      augment: null,
      dropout: false,
      engine: 'onnx',
    });
    expect(result.history[0]!.loss).toBeGreaterThan(result.history.at(-1)!.loss);
    expect(Math.max(...result.history.map((h) => h.valAccuracy))).toBeGreaterThan(0.8);
    await expect(
      trainModel({
        model,
        train,
        validation: train,
        numClasses: K,
        epochs: 1,
        engine: 'onnx',
        inferenceModeLayers: true,
      }),
    ).rejects.toThrow(/fine-tune in inference mode with --engine tfjs/);
    model.dispose();
  }, 120_000);
});
