/**
 * Architectures side by side on one data set: the rows of `npm run compare` and of the model
 * lab's table, and the table as text.
 */
import { readIdxSplit } from '@/lib/formats/idx';
import { badInput } from '@/lib/errors';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { DEFAULT_VALIDATION_SIZE, selectImages, splitTrainingIndices } from '@/lib/ml/train-from-dataset';
import type { LabArchitecture } from './architectures';
import {
  runLabArchitecture,
  type LabDataset,
  type LabProgress,
  type LabResult,
  type LabSettings,
} from './run-architecture';

/**
 * An IDX folder as a lab data set: the training split less Loupe's fixed 5,000-image
 * validation split (the one `npm run train` uses) to fit, that split for early stopping and
 * the temperature, and the t10k split to measure. `trainLimit` keeps the first N training
 * images of the fixed shuffle, `testLimit` the first N test images: quick runs.
 */
export function loadIdxLabDataset(input: { dir: string; trainLimit?: number; testLimit?: number }): LabDataset {
  const train = readIdxSplit(input.dir, 'train');
  const test = readIdxSplit(input.dir, 't10k');
  if (train.images.rows !== 28 || train.images.cols !== 28)
    throw badInput(`IDX images in ${input.dir} are ${train.images.rows}x${train.images.cols}; the lab takes 28x28.`);
  const { trainIdx, validationIdx } = splitTrainingIndices(train.images.count, DEFAULT_VALIDATION_SIZE);
  const fit = input.trainLimit ? trainIdx.subarray(0, input.trainLimit) : trainIdx;
  const testCount = Math.min(test.images.count, input.testLimit ?? test.images.count);
  const testIdx = Uint32Array.from({ length: testCount }, (_, i) => i);
  let k = 0;
  for (const labels of [train.labels, test.labels]) for (const label of labels) k = Math.max(k, label + 1);
  const classNames =
    k === FASHION_MNIST_CLASSES.length ? [...FASHION_MNIST_CLASSES] : Array.from({ length: k }, (_, i) => String(i));
  return {
    train: selectImages(train.images.pixels, train.labels, fit),
    validation: selectImages(train.images.pixels, train.labels, validationIdx),
    test: selectImages(test.images.pixels, test.labels, testIdx),
    classNames,
    source: `idx:${input.dir} (train ${fit.length}, validation ${validationIdx.length}, t10k ${testCount})`,
  };
}

export type ComparisonProgress = LabProgress & { index: number; of: number };

/** Runs each architecture in turn on the same data; `epochsFor` may give one its own epoch count. */
export async function compareArchitectures(input: {
  archs: LabArchitecture[];
  data: LabDataset;
  settings: LabSettings;
  epochsFor?: Partial<Record<LabArchitecture, number>>;
  saveDirFor?: (arch: LabArchitecture) => string | undefined;
  onProgress?: (progress: ComparisonProgress) => void;
  onResult?: (result: LabResult) => void | Promise<void>;
}): Promise<LabResult[]> {
  const results: LabResult[] = [];
  for (const [index, arch] of input.archs.entries()) {
    const result = await runLabArchitecture({
      arch,
      data: input.data,
      settings: { ...input.settings, epochs: input.epochsFor?.[arch] ?? input.settings.epochs },
      saveTo: input.saveDirFor?.(arch),
      onProgress: (progress) => input.onProgress?.({ ...progress, index, of: input.archs.length }),
    });
    results.push(result);
    await input.onResult?.(result);
  }
  return results;
}
