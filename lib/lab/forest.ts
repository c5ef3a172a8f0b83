/**
 * A random forest (Breiman, 2001) on 28x28 byte images, the model lab's tree baseline: bagged
 * CART trees, Gini impurity, a fresh random subset of sqrt(784) = 28 pixels tried at every
 * split, grown until pure (sklearn's RandomForestClassifier defaults); class probabilities are
 * the mean of the leaves' class fractions.
 *
 * Why not a library: ml-random-forest (mljs, on npm) was measured first. Its CART tries every
 * boundary of every feature by re-splitting the whole node, quadratic in the node's size:
 * 500 images and 5 trees took 7.9 s on this machine, so the 55,000 training images were out of
 * reach. ml-xgboost (xgboost 0.7 compiled to wasm in 2017) overflowed its stack at 2,000 images.
 * Pixels are bytes, so a split search here is one histogram of at most 256 values per pixel:
 * linear in the node's size.
 */
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createRng } from '@/lib/ml/random';

export interface ForestOptions {
  trees: number;
  /** Pixels tried at each split; default round(sqrt(784)) = 28. */
  maxFeatures?: number;
  /** No split leaves fewer samples than this on a side; default 1 (grown until pure). */
  minLeaf?: number;
  maxDepth?: number;
  seed?: number;
}

/** One tree as flat arrays: node i splits on `feature[i]` (pixel <= threshold goes left) or is a leaf (feature -1). */
interface Tree {
  feature: Int16Array;
  threshold: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf i's class fractions start at `leafOffset[i]` in `leafProbs` (k values). */
  leafOffset: Int32Array;
  leafProbs: Float32Array;
}

export interface Forest {
  kind: 'forest';
  numClasses: number;
  trees: Tree[];
  /** Split and leaf nodes over all trees (the forest's size, as a parameter count is for a network). */
  nodes: number;
}

export interface TrainForestInput {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  numClasses: number;
  options: ForestOptions;
  onTree?: (done: number, total: number) => void;
}

/** Trains every tree on its own bootstrap sample of the images. */
export async function trainForest(input: TrainForestInput): Promise<Forest> {
  const { options } = input;
  const rng = createRng(options.seed ?? 42);
  const trees: Tree[] = [];
  let nodes = 0;
  for (let t = 0; t < options.trees; t++) {
    const sample = new Uint32Array(input.count);
    for (let i = 0; i < input.count; i++) sample[i] = Math.floor(rng() * input.count);
    const tree = growTree({ ...input, sample, rng });
    trees.push(tree);
    nodes += tree.feature.length;
    input.onTree?.(t + 1, options.trees);
    // Let timers run (a worker's lease renewal) between trees.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { kind: 'forest', numClasses: input.numClasses, trees, nodes };
}

interface GrowInput extends TrainForestInput {
  sample: Uint32Array;
  rng: () => number;
}

/** Depth-first growth with an explicit stack; `sample` is partitioned in place. */
function growTree({ pixels, labels, numClasses: k, options, sample, rng }: GrowInput): Tree {
  const maxFeatures = Math.min(PIXELS_PER_IMAGE, options.maxFeatures ?? Math.round(Math.sqrt(PIXELS_PER_IMAGE)));
  const minLeaf = Math.max(1, options.minLeaf ?? 1);
  const maxDepth = options.maxDepth ?? Infinity;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const leafOffset: number[] = [];
  const leafProbs: number[] = [];
  const featureOrder = Uint16Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => i);
  const histogram = new Int32Array(256 * k);
  const seen = new Uint8Array(256);
  const values = new Uint8Array(256);
  const classCounts = new Int32Array(k);
  const leftCounts = new Float64Array(k);

  const newNode = () => {
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    leafOffset.push(-1);
    return feature.length - 1;
  };
  const stack: { node: number; start: number; end: number; depth: number }[] = [
    { node: newNode(), start: 0, end: sample.length, depth: 0 },
  ];
  while (stack.length > 0) {
    const { node, start, end, depth } = stack.pop()!;
    const n = end - start;
    classCounts.fill(0);
    for (let i = start; i < end; i++) classCounts[labels[sample[i]!]!]! += 1;
    let parentSquares = 0;
    let classesPresent = 0;
    for (let c = 0; c < k; c++) {
      parentSquares += classCounts[c]! * classCounts[c]!;
      if (classCounts[c]! > 0) classesPresent++;
    }
    const makeLeaf = () => {
      leafOffset[node] = leafProbs.length;
      for (let c = 0; c < k; c++) leafProbs.push(classCounts[c]! / n);
    };
    if (classesPresent <= 1 || n < 2 * minLeaf || depth >= maxDepth) {
      makeLeaf();
      continue;
    }
    // Gini gain is largest where sum_c L_c^2 / nL + sum_c R_c^2 / nR is; it must beat the parent's.
    let bestScore = parentSquares / n + 1e-12;
    let bestFeature = -1;
    let bestThreshold = 0;
    // A partial Fisher-Yates shuffle picks this split's pixels without replacement.
    for (let f = 0; f < maxFeatures; f++) {
      const j = f + Math.floor(rng() * (PIXELS_PER_IMAGE - f));
      const pixel = featureOrder[j]!;
      featureOrder[j] = featureOrder[f]!;
      featureOrder[f] = pixel;
      let distinct = 0;
      for (let i = start; i < end; i++) {
        const row = sample[i]!;
        const v = pixels[row * PIXELS_PER_IMAGE + pixel]!;
        if (!seen[v]) {
          seen[v] = 1;
          values[distinct++] = v;
        }
        histogram[v * k + labels[row]!]! += 1;
      }
      if (distinct > 1) {
        values.subarray(0, distinct).sort();
        leftCounts.fill(0);
        let nLeft = 0;
        for (let d = 0; d < distinct - 1; d++) {
          const v = values[d]!;
          for (let c = 0; c < k; c++) {
            const count = histogram[v * k + c]!;
            leftCounts[c]! += count;
            nLeft += count;
          }
          const nRight = n - nLeft;
          if (nLeft < minLeaf || nRight < minLeaf) continue;
          let leftSquares = 0;
          let rightSquares = 0;
          for (let c = 0; c < k; c++) {
            const l = leftCounts[c]!;
            const r = classCounts[c]! - l;
            leftSquares += l * l;
            rightSquares += r * r;
          }
          const score = leftSquares / nLeft + rightSquares / nRight;
          if (score > bestScore) {
            bestScore = score;
            bestFeature = pixel;
            bestThreshold = v;
          }
        }
      }
      for (let d = 0; d < distinct; d++) {
        const v = values[d]!;
        seen[v] = 0;
        histogram.fill(0, v * k, v * k + k);
      }
    }
    if (bestFeature < 0) {
      makeLeaf();
      continue;
    }
    // Partition: pixel <= threshold to the front.
    let lo = start;
    let hi = end - 1;
    while (lo <= hi) {
      if (pixels[sample[lo]! * PIXELS_PER_IMAGE + bestFeature]! <= bestThreshold) lo++;
      else {
        const t = sample[lo]!;
        sample[lo] = sample[hi]!;
        sample[hi] = t;
        hi--;
      }
    }
    feature[node] = bestFeature;
    threshold[node] = bestThreshold;
    const l = newNode();
    const r = newNode();
    left[node] = l;
    right[node] = r;
    stack.push({ node: r, start: lo, end, depth: depth + 1 }, { node: l, start, end: lo, depth: depth + 1 });
  }
  return {
    feature: Int16Array.from(feature),
    threshold: Uint8Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    leafOffset: Int32Array.from(leafOffset),
    leafProbs: Float32Array.from(leafProbs),
  };
}

/** Class probabilities (count x k, row-major): the mean over trees of the leaf's class fractions. */
export function predictForest(forest: Forest, pixels: Uint8Array, count: number): Float32Array {
  const k = forest.numClasses;
  const out = new Float32Array(count * k);
  const share = 1 / forest.trees.length;
  for (let i = 0; i < count; i++) {
    const base = i * PIXELS_PER_IMAGE;
    for (const tree of forest.trees) {
      let node = 0;
      while (tree.feature[node]! >= 0) {
        node = pixels[base + tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
      }
      const offset = tree.leafOffset[node]!;
      for (let c = 0; c < k; c++) out[i * k + c]! += tree.leafProbs[offset + c]! * share;
    }
  }
  return out;
}
