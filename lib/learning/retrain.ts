import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { modelVersions, type ModelVersion } from '@/db/schema';
import { getEnv } from '@/lib/env';
import { AppError } from '@/lib/errors';
import { initBackend } from '@/lib/ml/backend';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { loadModel, saveModel } from '@/lib/ml/model-store';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import type { LabelledImages } from '@/lib/ml/train';
import { activateModelVersion } from '@/lib/models/promotion';
import { findActiveModel, requireActiveModel } from '@/lib/models/active';
import { FineTuneMetrics } from '@/lib/models/metrics';
import { fineTune, type FineTuneSettings } from './fine-tune';
import { decidePromotion, DEFAULT_MAX_HOLDOUT_DROP_POINTS, type GateDecision } from './gate';
import { concatImages, pickImages } from './image-sets';
import {
  ensureStoredPredictions,
  insertPredictions,
  measureAccuracy,
  measureEce,
  predictStored,
  type StoredPrediction,
} from './predictions';
import { replaySizeFor, sampleReplay } from './replay';
import { rescoreCatalogue, type RescoreResult } from './rescore';
import { HELD_OUT_HUMAN_PERCENT, readHoldout, readHumanLabels } from './split';
import { requireCatalogueById } from '@/lib/catalogues';

export type { MeasuredAccuracy } from './predictions';

export interface RetrainOptions {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
  /** Where the candidate's folder goes (under `<catalogue slug>/`); default LOUPE_MODELS_DIR, else `models/` beside the database. */
  modelsDir?: string;
  maxHoldoutDropPoints?: number;
  /** Which layers learn: 'head' (default: the layers after the last flatten) or 'all'. */
  layers?: FineTuneSettings['layers'];
  /** Batch norm keeps its moving statistics and dropout is off while fitting (default true). */
  inferenceModeLayers?: boolean;
  /**
   * Permutes the training labels (never the validation or evaluation labels): a candidate
   * that learnt noise, for tests and for showing the gate at work. Never set in production.
   */
  shuffleTrainingLabels?: boolean;
}

export interface RetrainProgress {
  phase: 'preparing' | 'training' | 'evaluating' | 'deciding' | 'rescoring' | 'done';
  message: string;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  valAccuracy?: number;
}

export interface RetrainResult {
  candidate: ModelVersion;
  decision: GateDecision;
  promoted: boolean;
  rescore: RescoreResult | null;
  /** The whole run, rescoring included. */
  seconds: number;
  /** Seconds per phase: prepare, train, save, evaluate, decide, and rescore when promoted. */
  timings: Record<string, number>;
}

/**
 * Chosen on the demo (1,000 simulated decisions: ~800 trained on, ~1,600 replay images; see
 * the README's learning loop): only the dense head learns, batch norm frozen, at a low rate
 * for up to 4 epochs. Training the whole cnn at 1e-4 to 3e-4 lost holdout and held-out human
 * accuracy alike; the head alone trains ~2.5x faster and forgets less.
 */
export const RETRAIN_DEFAULTS: FineTuneSettings = {
  epochs: 4,
  learningRate: 5e-5,
  batchSize: 64,
  seed: 1,
  layers: 'head',
  inferenceModeLayers: true,
};
/** Part of the training pool kept for per-epoch validation and the temperature fit. */
const VALIDATION_FRACTION = 0.15;
const MIN_VALIDATION = 64;
const MAX_VALIDATION = 1000;

/** Where fine-tuned versions are written when no folder is given. */
export function defaultModelsDir(): string {
  const env = getEnv();
  return env.LOUPE_MODELS_DIR ?? path.join(path.dirname(path.resolve(env.LOUPE_DB)), 'models');
}

function candidateName(arch: string, parent: ModelVersion): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${arch}-ft${parent.id}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Splits the shuffled pool into a training part and a validation slice. */
function splitPool(pool: LabelledImages, seed: number): { fit: LabelledImages; validation: LabelledImages } {
  const order = shuffledIndices(pool.count, createRng(seed ^ 0x9e3779b9));
  const wanted = Math.min(MAX_VALIDATION, Math.max(MIN_VALIDATION, Math.round(pool.count * VALIDATION_FRACTION)));
  const size = Math.min(wanted, Math.floor(pool.count / 2));
  return { validation: pickImages(pool, order.subarray(0, size)), fit: pickImages(pool, order.subarray(size)) };
}

function resolveSettings(options: RetrainOptions): FineTuneSettings {
  return {
    epochs: options.epochs ?? RETRAIN_DEFAULTS.epochs,
    learningRate: options.learningRate ?? RETRAIN_DEFAULTS.learningRate,
    batchSize: options.batchSize ?? RETRAIN_DEFAULTS.batchSize,
    seed: options.seed ?? RETRAIN_DEFAULTS.seed,
    layers: options.layers ?? RETRAIN_DEFAULTS.layers,
    inferenceModeLayers: options.inferenceModeLayers ?? RETRAIN_DEFAULTS.inferenceModeLayers,
  };
}

/**
 * The job body of a retrain: fine-tunes the catalogue's active model on the training part of
 * its human labels plus a replay sample, recalibrates it, measures it and the active model on
 * the holdout and the held-out human labels, lets the gate decide, records the candidate
 * (active, or rejected with the reason) and, when promoted, re-scores the catalogue.
 *
 * Crash safety: the candidate's folder is complete (written staged, then renamed) before its
 * row exists, and the row is written with its final status in the same immediate transaction
 * as the promotion, so a crash leaves at most a folder without a row (removed when the run
 * fails in-process), never a half-row or a row pointing at missing files. A crash during the
 * re-scoring leaves a promoted model and a partly re-scored catalogue; a `score` job with
 * `rescore: true` finishes it (rescoreCatalogue reuses what was stored).
 */
export async function runRetrain(
  db: Db,
  input: { catalogueId: number; options?: RetrainOptions; onProgress?: (p: RetrainProgress) => void },
): Promise<RetrainResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  let phaseStart = started;
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Number(((now - phaseStart) / 1000).toFixed(2));
    phaseStart = now;
  };
  const progress = (p: RetrainProgress) => input.onProgress?.(p);
  const options = input.options ?? {};
  const settings = resolveSettings(options);
  const maxHoldoutDropPoints = options.maxHoldoutDropPoints ?? DEFAULT_MAX_HOLDOUT_DROP_POINTS;

  progress({ phase: 'preparing', message: 'Reading human labels, holdout and replay data' });
  const catalogue = requireCatalogueById(db, input.catalogueId);
  const parent = requireActiveModel(db, catalogue.id);
  const k = catalogue.classNames.length;
  const backend = await initBackend();
  const human = readHumanLabels(db, catalogue.id);
  const holdout = readHoldout(db, catalogue.id);
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
  const replay = sampleReplay(db, { catalogue, size: replaySizeFor(human.train.count), seed: settings.seed });
  // What the gate measures on: the holdout, then the held-out human labels.
  const evaluation = {
    ...concatImages([holdout, human.heldOut]),
    itemIds: [...holdout.itemIds, ...human.heldOut.itemIds],
  };
  const { fit, validation } = splitPool(concatImages([human.train, replay]), settings.seed);
  if (options.shuffleTrainingLabels) {
    const order = shuffledIndices(fit.count, createRng(settings.seed + 7));
    fit.labels = Uint8Array.from(order, (i) => fit.labels[i]!);
  }
  if (fit.count < settings.batchSize)
    throw new AppError('bad_input', `Only ${fit.count} images to train on; one batch needs ${settings.batchSize}.`);
  lap('prepare');

  // The active model is measured in a worker thread while this thread trains (one core
  // each). Its predictions are stored, so the next run reads them instead.
  const activeEvaluation = ensureStoredPredictions(db, {
    model: parent,
    k,
    itemIds: evaluation.itemIds,
    pixelsOf: (i) => evaluation.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
    background: true,
  });
  activeEvaluation.catch(() => {}); // awaited below; this only keeps a failure meanwhile from going unhandled

  const { model, meta: parentMeta } = await loadModel(parent.weightsPath);
  const dir = path.join(
    options.modelsDir ?? defaultModelsDir(),
    catalogue.slug,
    candidateName(parentMeta.arch, parent),
  );
  let disposed = false;
  let committed = false;
  try {
    if (parentMeta.classNames.length !== k)
      throw new AppError(
        'conflict',
        `The active model ${parent.name} has ${parentMeta.classNames.length} classes; the catalogue has ${k}.`,
      );
    const batches = Math.floor(fit.count / settings.batchSize);
    const every = Math.max(1, Math.floor(batches / 10));
    progress({
      phase: 'training',
      message: `Fine-tuning ${parent.name} on ${human.train.count} human labels and ${replay.count} replay images`,
      epoch: 1,
      epochs: settings.epochs,
      batch: 0,
      batches,
    });
    const tuned = await fineTune({
      model,
      fit,
      validation,
      numClasses: k,
      testTimeAugmentation: parentMeta.testTimeAugmentation,
      parentTemperature: parent.temperature,
      settings,
      onBatch: (epoch, batch, total) => {
        if (batch % every === 0 || batch === total)
          progress({
            phase: 'training',
            message: `Epoch ${epoch} of ${settings.epochs}`,
            epoch,
            epochs: settings.epochs,
            batch,
            batches: total,
          });
      },
      onEpoch: (r) =>
        progress({
          phase: 'training',
          message: `Epoch ${r.epoch} of ${settings.epochs}: validation accuracy ${(r.valAccuracy * 100).toFixed(2)}%`,
          epoch: r.epoch,
          epochs: settings.epochs,
          batch: batches,
          batches,
          loss: r.loss,
          valAccuracy: r.valAccuracy,
        }),
    });
    lap('train');

    await saveModel(dir, model, {
      arch: parentMeta.arch,
      classNames: [...catalogue.classNames],
      temperature: tuned.temperature,
      testTimeAugmentation: parentMeta.testTimeAugmentation,
      params: model.countParams(),
      seed: settings.seed,
      initFrom: parent.weightsPath,
      backend,
      trainedAt: new Date().toISOString(),
      trainingSeconds: tuned.seconds,
      epochs: tuned.history.length,
      bestEpoch: tuned.bestEpoch,
      trainImagesPerSecond: tuned.imagesPerSecond,
      dataset: `fine-tune of ${parent.name}: ${human.train.count} human labels of ${catalogue.slug} + ${replay.count} replay (${replay.description})`,
      trainCount: fit.count,
      validationCount: validation.count,
      validation: {
        accuracy: tuned.validationAccuracy,
        loss: tuned.validationLoss,
        ece: tuned.validationEce,
        eceUncalibrated: tuned.validationEceUncalibrated,
      },
      history: tuned.history,
    });
    model.dispose();
    disposed = true;
    lap('save');

    progress({
      phase: 'evaluating',
      message: `Measuring the candidate and ${parent.name} on ${holdout.count} holdout items and ${human.heldOut.count} held-out human labels`,
    });
    const candidatePredictions = await predictStored({
      modelDir: dir,
      temperature: tuned.temperature,
      k,
      pixels: evaluation.pixels,
      count: evaluation.count,
      onProgress: (done, total) =>
        progress({
          phase: 'evaluating',
          message: `Measured the candidate on ${done} of ${total} items`,
          batch: done,
          batches: total,
        }),
    });
    const measure = (list: StoredPrediction[]) => {
      const inHoldout = list.slice(0, holdout.count);
      return {
        holdout: measureAccuracy(inHoldout, holdout.labels),
        heldOutHuman: measureAccuracy(list.slice(holdout.count), human.heldOut.labels),
        ece: measureEce(inHoldout, holdout.labels, k),
      };
    };
    const { ece: candidateEce, ...candidate } = measure(candidatePredictions);
    const { ece: activeEce, ...active } = measure((await activeEvaluation).predictions);
    lap('evaluate');

    progress({ phase: 'deciding', message: 'Comparing the candidate with the active model' });
    let decision = decidePromotion({ active, candidate, maxHoldoutDropPoints });
    const metrics: FineTuneMetrics = {
      kind: 'fine-tune',
      ...candidate,
      ece: candidateEce,
      active: { modelVersionId: parent.id, name: parent.name, ...active, ece: activeEce },
      humanLabelsUsed: human.train.count,
      heldOutHumanLabels: human.heldOut.count,
      replayUsed: replay.count,
      replaySource: replay.source,
      validationCount: validation.count,
      validationAccuracyBefore: tuned.validationAccuracyBefore,
      validationAccuracy: tuned.validationAccuracy,
      throughReviewId: human.throughReviewId,
      temperature: tuned.temperature,
      temperatureFit: {
        activeOnSlice: tuned.fittedBefore,
        candidateOnSlice: tuned.fittedAfter,
        active: parent.temperature,
      },
      epochs: tuned.history,
      bestEpoch: tuned.bestEpoch,
      trainingSeconds: tuned.seconds,
      trainImagesPerSecond: tuned.imagesPerSecond,
      settings: { ...settings, augment: true, shuffleTrainingLabels: options.shuffleTrainingLabels ?? false },
      decision: { ...decision, maxHoldoutDropPoints },
    };
    const row = db.transaction(
      (tx) => {
        // Measured against the parent: if an admin promoted or rolled back meanwhile, the
        // comparison no longer describes the model this one would replace.
        const current = findActiveModel(tx, catalogue.id);
        if (decision.promote && current?.id !== parent.id) {
          decision = {
            ...decision,
            promote: false,
            reason: `Rejected: the active model changed while this candidate trained (it was measured against ${parent.name}); train again to compare with the current one.`,
          };
          metrics.decision = { ...decision, maxHoldoutDropPoints };
        }
        const inserted = tx
          .insert(modelVersions)
          .values({
            catalogueId: catalogue.id,
            name: path.basename(dir),
            arch: parentMeta.arch,
            parentId: parent.id,
            weightsPath: dir,
            temperature: tuned.temperature,
            metrics: FineTuneMetrics.parse(metrics),
            status: 'candidate',
          })
          .returning()
          .get();
        // Its predictions on the evaluation items: when it is the active model one day, its
        // side of the comparison is read back instead of predicted again.
        insertPredictions(
          tx,
          inserted.id,
          evaluation.itemIds.map((itemId, i) => ({ itemId, prediction: candidatePredictions[i]! })),
        );
        if (decision.promote) return activateModelVersion(tx, { modelVersionId: inserted.id }).promoted;
        return tx
          .update(modelVersions)
          .set({ status: 'rejected' })
          .where(eq(modelVersions.id, inserted.id))
          .returning()
          .get()!;
      },
      { behavior: 'immediate' },
    );
    committed = true;
    lap('decide');

    let rescore: RescoreResult | null = null;
    if (decision.promote) {
      progress({ phase: 'rescoring', message: `Re-scoring ${catalogue.slug} with ${row.name}` });
      rescore = await rescoreCatalogue(db, {
        catalogueId: catalogue.id,
        onProgress: (done, total) =>
          progress({ phase: 'rescoring', message: `Re-scored ${done} of ${total} items`, batch: done, batches: total }),
      });
      lap('rescore');
    }
    progress({ phase: 'done', message: decision.reason });
    return {
      candidate: row,
      decision,
      promoted: decision.promote,
      rescore,
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      timings,
    };
  } finally {
    if (!disposed) model.dispose();
    if (!committed) fs.rmSync(dir, { recursive: true, force: true });
    // Settle the background measurement before returning or throwing (it writes to the database).
    await activeEvaluation.catch(() => {});
  }
}
