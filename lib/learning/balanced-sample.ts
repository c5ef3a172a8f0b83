import { createRng, shuffledIndices } from '@/lib/ml/random';

/**
 * A class-balanced, seeded sample: indices into `labels` (restricted to `candidates` when
 * given), `ceil(size / numClasses)` per class or all of a class that has fewer, in a seeded
 * random order. The same inputs always give the same sample.
 */
export function balancedSample(
  labels: ArrayLike<number>,
  options: { size: number; numClasses: number; seed: number; candidates?: ArrayLike<number> },
): Uint32Array {
  const { numClasses: k, size } = options;
  const perClass = Math.ceil(Math.max(0, size) / k);
  const candidates = options.candidates ?? Uint32Array.from({ length: labels.length }, (_, i) => i);
  const rng = createRng(options.seed);
  // One shuffle of the candidates, then the first `perClass` of each class in that order.
  const order = shuffledIndices(candidates.length, rng);
  const taken = new Array<number>(k).fill(0);
  const picked: number[] = [];
  for (const position of order) {
    const index = candidates[position]!;
    const label = labels[index]!;
    if (label < 0 || label >= k || taken[label]! >= perClass) continue;
    taken[label]!++;
    picked.push(index);
  }
  // The loop above keeps classes in the shuffled order already: no class comes in one block.
  return Uint32Array.from(picked);
}

/** How many images of each class `indices` holds (for reports and tests). */
export function classCounts(labels: ArrayLike<number>, indices: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < indices.length; i++) counts[labels[indices[i]!]!]!++;
  return counts;
}
