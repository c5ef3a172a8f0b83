import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { loadClassifier } from '@/lib/ml/classifier';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { ARCHITECTURES, createModel } from '@/lib/ml/model';
import { saveModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { evaluateLoss, trainModel } from '@/lib/ml/train';
import { predictLogits } from '@/lib/ml/predict';
import { syntheticSet } from './fixtures';

const K = 10;

describe('models', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  it.each(ARCHITECTURES)('%s maps [n,28,28,1] to n x 10 logits', (arch) => {
    const model = createModel(arch, { numClasses: K });
    const out = tf.tidy(() => model.predict(tf.zeros([3, 28, 28, 1])) as tf.Tensor);
    expect(out.shape).toEqual([3, K]);
    out.dispose();
    if (arch === 'cnn') expect(model.countParams()).toBeLessThan(1_000_000);
    // Issue 18's bound for a shipped model; 273,754 with batch norm's moving statistics.
    if (arch === 'resnet20') expect(model.countParams()).toBeLessThan(600_000);
    model.dispose();
  });

  /** Trains `arch` on a trivially separable set; its loss must fall and its validation accuracy pass 80%. */
  async function learnsSeparableSet(
    arch: 'cnn' | 'resnet20',
    sizes: { train: number; validation: number; epochs: number; batchSize: number },
  ) {
    const model = createModel(arch, { numClasses: K, seed: 3 });
    const result = await trainModel({
      model,
      train: syntheticSet(sizes.train, 1),
      validation: syntheticSet(sizes.validation, 2),
      numClasses: K,
      epochs: sizes.epochs,
      batchSize: sizes.batchSize,
      learningRate: 3e-3,
      augment: null,
      stopPatience: 10,
    });
    expect(result.history[0]!.loss).toBeGreaterThan(result.history.at(-1)!.loss);
    expect(Math.max(...result.history.map((h) => h.valAccuracy))).toBeGreaterThan(0.8);
    model.dispose();
  }

  it('cnn learns a trivially separable set on wasm (training kernels in use)', async () => {
    await learnsSeparableSet('cnn', { train: 320, validation: 100, epochs: 3, batchSize: 32 });
  });

  it('resnet20 learns a trivially separable set on wasm (gradients through the skip connections)', async () => {
    // Five epochs: training loss falls within one, but the 19 batch norms' moving statistics
    // (momentum 0.99, 10 steps an epoch) take about four to reach the weights'.
    await learnsSeparableSet('resnet20', { train: 160, validation: 60, epochs: 5, batchSize: 16 });
  }, 180_000);

  it("dropout: false skips dropout while fitting and keeps the layers' rates", async () => {
    // With a learning rate too small to move the weights, the mean training loss of an mlp
    // (no batch norm) equals its prediction-time loss exactly when dropout is skipped.
    const train = syntheticSet(320, 4);
    const fit = async (dropout: boolean) => {
      const model = createModel('mlp', { numClasses: K, seed: 5 });
      const result = await trainModel({
        model,
        train,
        validation: train,
        numClasses: K,
        epochs: 1,
        batchSize: 32,
        learningRate: 1e-12,
        augment: null,
        dropout,
      });
      const atPrediction = await evaluateLoss(model, train, K);
      const rates = model.layers.filter((l) => l.getClassName() === 'Dropout').map((l) => l.getConfig().rate);
      model.dispose();
      return { gap: Math.abs(result.history[0]!.loss - atPrediction.loss), rates };
    };
    const off = await fit(false);
    const on = await fit(true);
    expect(off.gap).toBeLessThan(1e-5);
    expect(on.gap).toBeGreaterThan(1e-3);
    expect(off.rates).toEqual([0.2]);
  });

  it('save -> load round trip predicts the same, and predict leaks no tensor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-model-'));
    const model = createModel('lenet5', { numClasses: K, seed: 7 });
    const meta = await saveUntrainedModel(path.join(dir, 'scratch'), {
      arch: 'lenet5',
      classNames: [...FASHION_MNIST_CLASSES],
      temperature: 1.5,
      seed: 7,
    });
    await saveModel(path.join(dir, 'm'), model, meta);
    const { pixels } = syntheticSet(20, 5);
    const before = tf.tidy(
      () =>
        model.predict(
          tf.tensor4d(
            Float32Array.from(pixels, (p) => p / 255),
            [20, 28, 28, 1],
          ),
        ) as tf.Tensor,
    );
    const expected = await before.data();
    before.dispose();
    model.dispose();

    const classifier = await loadClassifier(path.join(dir, 'm'));
    expect(classifier.meta.temperature).toBe(1.5);
    const tensorsBefore = tf.memory().numTensors;
    const logits = await classifier.predictLogits(pixels, 20);
    const predictions = await classifier.predict(pixels, 20);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    for (let i = 0; i < expected.length; i++) expect(logits[i]).toBeCloseTo(expected[i]!, 4);
    expect(predictions).toHaveLength(20);
    for (const p of predictions) {
      expect(p.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(p.confidence).toBe(Math.max(...p.probs));
      expect(p.margin).toBeGreaterThanOrEqual(0);
    }
    classifier.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('mirror averaging (hflip) gives the mean logits of an image and its mirror image', async () => {
    const model = createModel('lenet5', { numClasses: K, seed: 9 });
    const { pixels } = syntheticSet(4, 8);
    const mirror = new Uint8Array(pixels.length);
    for (let i = 0; i < 4; i++)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) mirror[i * 784 + y * 28 + x] = pixels[i * 784 + y * 28 + 27 - x]!;
    const plain = await predictLogits(model, pixels, 4);
    const mirrored = await predictLogits(model, mirror, 4);
    const averaged = await predictLogits(model, pixels, 4, { testTimeAugmentation: 'hflip' });
    for (let i = 0; i < plain.length; i++) expect(averaged[i]).toBeCloseTo((plain[i]! + mirrored[i]!) / 2, 5);
    model.dispose();
  });

  it('a missing model folder is a clear not_found error', async () => {
    await expect(loadClassifier('/nonexistent/model')).rejects.toThrow(/No model at \/nonexistent\/model/);
  });
});
