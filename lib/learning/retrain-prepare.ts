import type { Db } from '@/db/client';
import type { Catalogue, ModelVersion } from '@/db/schema';
import { requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import type { LabelledImages } from '@/lib/ml/train';
import { requireActiveModel } from '@/lib/models/active';
import type { FineTuneSettings } from './fine-tune';
import { concatImages, pickImages } from './image-sets';
import { replaySizeFor, sampleReplay, type ReplaySample } from './replay';
import { HELD_OUT_HUMAN_PERCENT, readHoldout, readHumanLabels, type HumanLabels } from './split';

/** Part of the training pool kept for per-epoch validation and the temperature fit. */
const VALIDATION_FRACTION = 0.15;
const MIN_VALIDATION = 64;
const MAX_VALIDATION = 1000;

/** Everything a retrain run reads before it trains: the data, split once. */
export interface PreparedRetrain {
  catalogue: Catalogue;
  /** The active model: the one fine-tuned, and the one the candidate is measured against. */
  parent: ModelVersion;
  /** Number of classes. */
  k: number;
  human: HumanLabels;
  holdout: LabelledImages & { itemIds: number[] };
  replay: ReplaySample;
  /** What the gate measures on: the holdout, then the held-out human labels. */
  evaluation: LabelledImages & { itemIds: number[] };
  /** The training pool (human labels + replay) less the validation slice. */
  fit: LabelledImages;
  validation: LabelledImages;
}

/** Splits the shuffled pool into a training part and a validation slice. */
function splitPool(pool: LabelledImages, seed: number): { fit: LabelledImages; validation: LabelledImages } {
  const order = shuffledIndices(pool.count, createRng(seed ^ 0x9e3779b9));
  const wanted = Math.min(MAX_VALIDATION, Math.max(MIN_VALIDATION, Math.round(pool.count * VALIDATION_FRACTION)));
  const size = Math.min(wanted, Math.floor(pool.count / 2));
  return { validation: pickImages(pool, order.subarray(0, size)), fit: pickImages(pool, order.subarray(size)) };
}

/**
 * Step 1 of a retrain: reads the catalogue's human labels (train and held-out parts), its
 * holdout and a replay sample, and refuses (bad_input) when there is too little to train on
 * or to measure with.
 */
export async function prepareRetrain(
  db: Db,
  input: { catalogueId: number; settings: FineTuneSettings; shuffleTrainingLabels?: boolean },
): Promise<PreparedRetrain> {
  const { settings } = input;
  const catalogue = await requireCatalogueById(db, input.catalogueId);
  const parent = await requireActiveModel(db, catalogue.id);
  const human = await readHumanLabels(db, catalogue.id);
  const holdout = await readHoldout(db, catalogue.id);
  if (human.train.count === 0 || human.heldOut.count === 0) {
    throw new AppError(
      'bad_input',
      `Not enough human labels to fine-tune and measure: ${human.train.count + human.heldOut.count} so far, ${human.heldOut.count} held out (about ${HELD_OUT_HUMAN_PERCENT}% are); review more items first.`,
    );
  }
  if (holdout.count === 0) {
    throw new AppError(
      'bad_input',
      `Catalogue "${catalogue.slug}" has no holdout items, so a candidate could not be checked for forgetting; import labelled items with --holdout first.`,
    );
  }
  const replay = await sampleReplay(db, { catalogue, size: replaySizeFor(human.train.count), seed: settings.seed });
  const evaluation = {
    ...concatImages([holdout, human.heldOut]),
    itemIds: [...holdout.itemIds, ...human.heldOut.itemIds],
  };
  const { fit, validation } = splitPool(concatImages([human.train, replay]), settings.seed);
  if (input.shuffleTrainingLabels) {
    const order = shuffledIndices(fit.count, createRng(settings.seed + 7));
    fit.labels = Uint8Array.from(order, (i) => fit.labels[i]!);
  }
  if (fit.count < settings.batchSize)
    throw new AppError('bad_input', `Only ${fit.count} images to train on; one batch needs ${settings.batchSize}.`);
  return {
    catalogue,
    parent,
    k: catalogue.classNames.length,
    human,
    holdout,
    replay,
    evaluation,
    fit,
    validation,
  };
}
