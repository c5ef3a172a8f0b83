import path from 'node:path';
import type { ImageSet } from '@/lib/formats/idx';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { DEFAULT_VALIDATION_SIZE, selectImages, splitTrainingIndices } from '@/lib/ml/train-from-dataset';
import type { LabelledImages } from '@/lib/ml/train';
import { balancedSample } from './balanced-sample';

/**
 * The demo's evaluation data, cut from the Fashion-MNIST training set by the same fixed split
 * that training uses (lib/ml/train-from-dataset):
 * - the holdout is the 5,000-image validation split, which no model ever trained on;
 * - the replay file is 600 images per class from the training part, for fine-tuning where the
 *   Debian package (the whole training set) is not installed.
 * Both are bundled in datasets/fashion-mnist/ (scripts/make-demo-eval-data.ts writes them).
 */
export const HOLDOUT_FILES = {
  images: 'holdout-images-idx3-ubyte.gz',
  labels: 'holdout-labels-idx1-ubyte.gz',
} as const;
export const REPLAY_FILES = { images: 'replay-images-idx3-ubyte.gz', labels: 'replay-labels-idx1-ubyte.gz' } as const;
export const BUNDLED_REPLAY_PER_CLASS = 600;
/** Seeds the bundled replay file's sample; changing it changes a committed file. */
export const BUNDLED_REPLAY_SEED = 20250601;

/** The copy of the demo data in the repository (t10k, holdout, replay). */
export function bundledDatasetDir(): string {
  return path.join(process.cwd(), 'datasets', 'fashion-mnist');
}

/** The demo catalogue is recognised by its class list, whatever its slug. */
export function isFashionMnistCatalogue(classNames: readonly string[]): boolean {
  return (
    classNames.length === FASHION_MNIST_CLASSES.length &&
    classNames.every((name, i) => name === FASHION_MNIST_CLASSES[i])
  );
}

/** The training part of the Fashion-MNIST training set (never the validation split). */
export function fashionMnistTrainingPart(count: number): Uint32Array {
  return splitTrainingIndices(count, DEFAULT_VALIDATION_SIZE).trainIdx;
}

/** Holdout and bundled replay sets from the full training set, deterministically. */
export function buildDemoEvalSets(train: { images: ImageSet; labels: Uint8Array }): {
  holdout: LabelledImages;
  replay: LabelledImages;
} {
  const { trainIdx, validationIdx } = splitTrainingIndices(train.images.count, DEFAULT_VALIDATION_SIZE);
  // In file order: the holdout's row numbers then say where each image came from.
  const holdoutIdx = Uint32Array.from(validationIdx).sort();
  const replayIdx = balancedSample(train.labels, {
    size: BUNDLED_REPLAY_PER_CLASS * FASHION_MNIST_CLASSES.length,
    numClasses: FASHION_MNIST_CLASSES.length,
    seed: BUNDLED_REPLAY_SEED,
    candidates: trainIdx,
  });
  return {
    holdout: selectImages(train.images.pixels, train.labels, holdoutIdx),
    replay: selectImages(train.images.pixels, train.labels, replayIdx),
  };
}
