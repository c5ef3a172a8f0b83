import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { createModel } from '@/lib/ml/model';
import { cosineLearningRate, trainModel } from '@/lib/ml/train';
import { syntheticSet } from './fixtures';

const K = 10;

describe('cosineLearningRate', () => {
  it('falls from max to min along half a cosine', () => {
    const at = (step: number) => cosineLearningRate({ step, total: 100, max: 1e-3, min: 1e-5 });
    expect(at(0)).toBeCloseTo(1e-3, 12);
    expect(at(50)).toBeCloseTo((1e-3 + 1e-5) / 2, 12);
    expect(at(25)).toBeCloseTo(1e-5 + ((1e-3 - 1e-5) * (1 + Math.SQRT1_2)) / 2, 12);
    expect(at(100)).toBeCloseTo(1e-5, 12);
    expect(at(150)).toBeCloseTo(1e-5, 12);
  });
});

describe('trainModel recipes', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  const train = syntheticSet(320, 7, { noise: 60 });
  const validation = syntheticSet(100, 8, { noise: 60 });
  const common = { train, validation, numClasses: K, batchSize: 32, augment: null, seed: 3 } as const;

  it('cosine: the last step of the last epoch runs at the bottom of the curve', async () => {
    const model = createModel('mlp', { numClasses: K, seed: 1 });
    const result = await trainModel({
      ...common,
      model,
      epochs: 2,
      learningRate: 1e-3,
      schedule: 'cosine',
      minLearningRate: 1e-4,
      stopPatience: 10,
    });
    const last = cosineLearningRate({ step: 19, total: 20, max: 1e-3, min: 1e-4 });
    expect(result.history.map((h) => h.learningRate)).toEqual([
      cosineLearningRate({ step: 9, total: 20, max: 1e-3, min: 1e-4 }),
      last,
    ]);
    model.dispose();
  });

  it('emaDecay: the model ends with the moving average of the weights after every step', async () => {
    const model = createModel('mlp', { numClasses: K, seed: 2 });
    const snapshot = () => model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
    const decay = 0.8;
    const average = snapshot().map((w) => Float64Array.from(w));
    let updates = 0;
    let lastStep: Float32Array[] = [];
    const result = await trainModel({
      ...common,
      model,
      epochs: 1,
      learningRate: 3e-3,
      emaDecay: decay,
      onBatch: () => {
        updates++;
        const d = Math.min(decay, (1 + updates) / (10 + updates));
        lastStep = snapshot();
        lastStep.forEach((w, i) => w.forEach((v, j) => (average[i]![j] = d * average[i]![j]! + (1 - d) * v)));
      },
    });
    expect(updates).toBe(10);
    // The returned model is the average, the best (only) epoch's figures are the average's.
    const final = model.getWeights().map((w) => w.dataSync() as Float32Array);
    let worst = 0;
    let fromLastStep = 0;
    final.forEach((w, i) =>
      w.forEach((v, j) => {
        worst = Math.max(worst, Math.abs(v - average[i]![j]!));
        fromLastStep = Math.max(fromLastStep, Math.abs(v - lastStep[i]![j]!));
      }),
    );
    expect(worst).toBeLessThan(1e-5);
    // ... and not the last step's weights, which the training went on from.
    expect(fromLastStep).toBeGreaterThan(1e-3);
    expect(result.bestEpoch).toBe(1);
    model.dispose();
  });
});
