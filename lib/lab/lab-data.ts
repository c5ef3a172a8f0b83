import type { Db } from '@/db/client';
import type { Catalogue } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { pickImages } from '@/lib/learning/image-sets';
import { sampleReplay } from '@/lib/learning/replay';
import { readHoldout } from '@/lib/learning/split';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import type { LabDataset } from './run-architecture';

/** Part of the training sample set aside for early stopping and the temperature fit. */
const VALIDATION_FRACTION = 0.1;
const MIN_VALIDATION = 50;

/** A seeded sample of `size` indices out of `count` (all of them, shuffled, when size >= count). */
function sampleIndices(count: number, size: number, seed: number): Uint32Array {
  return shuffledIndices(count, createRng(seed)).subarray(0, Math.min(size, count));
}

/**
 * A catalogue's labelled data as a lab data set. Models are measured on its holdout (trusted
 * labels, which no model trains on) and trained on a class-balanced sample of its training pool:
 * the same pool fine-tuning replays (the Fashion-MNIST training part for the demo catalogue,
 * otherwise the items labelled at import that are neither holdout nor gold). Human labels are
 * never used, so a lab model meets the evaluation gate on items it has not seen.
 */
export async function readLabDataset(
  db: Db,
  input: { catalogue: Catalogue; trainSize: number; testSize: number; seed: number },
): Promise<LabDataset & { testItemIds: number[] }> {
  const { catalogue } = input;
  const holdout = await readHoldout(db, catalogue.id);
  if (holdout.count === 0)
    throw new AppError(
      'bad_input',
      `Catalogue "${catalogue.slug}" has no holdout items to measure on; import labelled items with --holdout first.`,
    );
  const pool = await sampleReplay(db, { catalogue, size: input.trainSize, seed: input.seed });
  const validationSize = Math.max(MIN_VALIDATION, Math.round(pool.count * VALIDATION_FRACTION));
  if (pool.count < validationSize + 2 * MIN_VALIDATION)
    throw new AppError(
      'bad_input',
      `Catalogue "${catalogue.slug}" has ${pool.count} labelled items outside its holdout to train on; the lab needs at least ${validationSize + 2 * MIN_VALIDATION}.`,
    );
  const order = sampleIndices(pool.count, pool.count, input.seed + 1);
  // Holdout items in a seeded order, so a smaller test set is still a fair sample of it.
  const testIdx = Array.from(sampleIndices(holdout.count, input.testSize, input.seed + 2)).sort((a, b) => a - b);
  return {
    validation: pickImages(pool, order.subarray(0, validationSize)),
    train: pickImages(pool, order.subarray(validationSize)),
    test: pickImages(holdout, testIdx),
    testItemIds: testIdx.map((i) => holdout.itemIds[i]!),
    classNames: [...catalogue.classNames],
    source: `${catalogue.slug}: ${pool.count - validationSize} training images (${pool.description}), ${validationSize} validation, ${testIdx.length} holdout items`,
  };
}
