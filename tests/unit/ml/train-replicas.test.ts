import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { createModel } from '@/lib/ml/model';
import { trainModel } from '@/lib/ml/train';
import { syntheticSet } from './fixtures';

const K = 10;

describe('data-parallel training (replicas)', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  it('two replicas take the same steps as one thread when no layer looks at the batch', async () => {
    // mlp without dropout: the gradient of a batch's mean loss is the size-weighted mean of
    // its shards' gradients, so both runs must end with the same weights (up to rounding).
    const train = syntheticSet(330, 1, { noise: 60 });
    const run = async (replicas: number) => {
      const model = createModel('mlp', { numClasses: K, seed: 11 });
      const result = await trainModel({
        model,
        train,
        validation: train,
        numClasses: K,
        epochs: 2,
        batchSize: 33,
        learningRate: 1e-3,
        augment: null,
        dropout: false,
        replicas,
        seed: 5,
      });
      const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
      model.dispose();
      return { weights, loss: result.history.map((h) => h.loss) };
    };
    const one = await run(1);
    const two = await run(2);
    let maxDiff = 0;
    let maxMove = 0;
    const fresh = createModel('mlp', { numClasses: K, seed: 11 })
      .getWeights()
      .map((w) => Array.from(w.dataSync()));
    one.weights.forEach((w, i) =>
      w.forEach((v, j) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - two.weights[i]![j]!));
        maxMove = Math.max(maxMove, Math.abs(v - fresh[i]![j]!));
      }),
    );
    expect(maxMove).toBeGreaterThan(1e-3); // the weights did move...
    expect(maxDiff).toBeLessThan(1e-5); // ...and the same way
    for (let e = 0; e < 2; e++) expect(two.loss[e]).toBeCloseTo(one.loss[e]!, 5);
  }, 60_000);

  it('the cnn (batch norm, dropout) learns on three replicas and leaks no tensor', async () => {
    const train = syntheticSet(384, 2, { noise: 60 });
    const validation = syntheticSet(100, 3, { noise: 60 });
    const before = tf.memory().numTensors;
    const model = createModel('cnn', { numClasses: K, seed: 3 });
    const created = tf.memory().numTensors;
    const result = await trainModel({
      model,
      train,
      validation,
      numClasses: K,
      epochs: 3,
      batchSize: 64,
      learningRate: 3e-3,
      augment: null,
      replicas: 3,
      stopPatience: 10,
    });
    expect(result.history[0]!.loss).toBeGreaterThan(result.history.at(-1)!.loss);
    expect(Math.max(...result.history.map((h) => h.valAccuracy))).toBeGreaterThan(0.8);
    expect(tf.memory().numTensors).toBe(created);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
