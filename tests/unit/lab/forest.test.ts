import { describe, expect, it } from 'vitest';
import { readIdxSplit } from '@/lib/formats/idx';
import { predictForest, trainForest } from '@/lib/lab/forest';
import { bundledDatasetDir } from '@/lib/learning/demo-data';
import { syntheticSet } from '../ml/fixtures';

function accuracy(probs: Float32Array, labels: Uint8Array, k: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}

describe('random forest', () => {
  it('learns a separable set, and its probabilities are leaf fractions that sum to 1', async () => {
    const train = syntheticSet(300, 1, { noise: 60 });
    const test = syntheticSet(100, 2, { noise: 60 });
    const forest = await trainForest({ ...train, numClasses: 10, options: { trees: 10, seed: 3 } });
    expect(forest.trees).toHaveLength(10);
    const probs = predictForest(forest, test.pixels, test.count);
    expect(accuracy(probs, test.labels, 10)).toBeGreaterThan(0.95);
    for (let i = 0; i < test.count; i++) {
      const row = probs.subarray(i * 10, i * 10 + 10);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      for (const p of row) expect(p).toBeGreaterThanOrEqual(0);
    }
  });

  it('is repeatable with a seed and differs with another', async () => {
    const train = syntheticSet(200, 4, { noise: 120 });
    const a = await trainForest({ ...train, numClasses: 10, options: { trees: 3, seed: 9 } });
    const b = await trainForest({ ...train, numClasses: 10, options: { trees: 3, seed: 9 } });
    const c = await trainForest({ ...train, numClasses: 10, options: { trees: 3, seed: 10 } });
    expect(predictForest(a, train.pixels, train.count)).toEqual(predictForest(b, train.pixels, train.count));
    expect(a.nodes).toBe(b.nodes);
    expect(Array.from(c.trees[0]!.feature)).not.toEqual(Array.from(a.trees[0]!.feature));
  });

  it('makes a single leaf of a one-class set, and respects maxDepth', async () => {
    const one = { pixels: new Uint8Array(5 * 784).map((_, i) => i % 251), labels: new Uint8Array(5).fill(2), count: 5 };
    const leaf = await trainForest({ ...one, numClasses: 3, options: { trees: 1, seed: 1 } });
    expect(leaf.nodes).toBe(1);
    expect(Array.from(predictForest(leaf, one.pixels, 1))).toEqual([0, 0, 1]);
    const train = syntheticSet(200, 5, { noise: 200 });
    const stump = await trainForest({ ...train, numClasses: 10, options: { trees: 1, seed: 1, maxDepth: 1 } });
    expect(stump.nodes).toBe(3);
  });

  it('reaches a random forest figure on real Fashion-MNIST images (1,500 to train, 500 to test)', async () => {
    const { images, labels } = readIdxSplit(bundledDatasetDir(), 't10k');
    const train = { pixels: images.pixels.subarray(0, 1500 * 784), labels: labels.subarray(0, 1500), count: 1500 };
    const test = { pixels: images.pixels.subarray(1500 * 784, 2000 * 784), labels: labels.subarray(1500, 2000) };
    const forest = await trainForest({ ...train, numClasses: 10, options: { trees: 20, seed: 42 } });
    expect(accuracy(predictForest(forest, test.pixels, 500), test.labels, 10)).toBeGreaterThan(0.74);
  });
});
