import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { createModel } from '@/lib/ml/model';
import { cosineLearningRate, evaluateLoss, isBetterEpoch, trainModel } from '@/lib/ml/train';
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

describe('isBetterEpoch', () => {
  const best = { loss: 0.3, accuracy: 0.9 };
  it('by loss: a drop of more than 1e-4 wins, whatever the accuracy', () => {
    expect(isBetterEpoch({ loss: 0.29, accuracy: 0.5 }, best, 'loss')).toBe(true);
    expect(isBetterEpoch({ loss: 0.29995, accuracy: 0.99 }, best, 'loss')).toBe(false);
  });
  it('by accuracy: a higher accuracy wins, a tie goes to the lower loss', () => {
    expect(isBetterEpoch({ loss: 0.9, accuracy: 0.91 }, best, 'accuracy')).toBe(true);
    expect(isBetterEpoch({ loss: 0.1, accuracy: 0.89 }, best, 'accuracy')).toBe(false);
    expect(isBetterEpoch({ loss: 0.2, accuracy: 0.9 }, best, 'accuracy')).toBe(true);
    expect(isBetterEpoch({ loss: 0.3, accuracy: 0.9 }, best, 'accuracy')).toBe(false);
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

  it('selectBy accuracy: keeps the epoch with the best validation accuracy, not the lowest loss', async () => {
    // A small, noisy set on which validation accuracy peaks before the loss bottoms out.
    const hard = { train: syntheticSet(120, 11, { noise: 230 }), validation: syntheticSet(200, 12, { noise: 230 }) };
    const model = createModel('mlp', { numClasses: K, seed: 4 });
    const result = await trainModel({
      ...common,
      ...hard,
      model,
      epochs: 18,
      learningRate: 3e-3,
      selectBy: 'accuracy',
      stopPatience: 18,
    });
    const top = Math.max(...result.history.map((h) => h.valAccuracy));
    // The case tells the two rules apart: the lowest-loss epoch is not the most accurate one.
    const lowestLoss = result.history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(lowestLoss.valAccuracy).toBeLessThan(top);
    const first = result.history.find((h) => h.valAccuracy === top)!;
    expect(result.bestEpoch).toBeGreaterThanOrEqual(first.epoch);
    expect(result.history[result.bestEpoch - 1]!.valAccuracy).toBe(top);
    // The model returned is that epoch's.
    const now = await evaluateLoss(model, hard.validation, K);
    expect(now.accuracy).toBe(top);
    expect(now.loss).toBeCloseTo(result.history[result.bestEpoch - 1]!.valLoss, 5);
    model.dispose();
  });
});
