import * as tf from '@tensorflow/tfjs';
import { badInput } from '@/lib/errors';
import { initBackend } from '@/lib/ml/backend';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { createModel, type Architecture } from '@/lib/ml/model';
import type { AugmentOptions } from '@/lib/ml/model-input';
import { accuracyOfLogits, predictLogits } from '@/lib/ml/predict';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { loadInitialModel, selectImages } from '@/lib/ml/train-from-dataset';
import {
  trainModel,
  type EpochReport,
  type LabelledImages,
  type LearningRateSchedule,
  type TrainEngine,
} from '@/lib/ml/train';

/** Seeds the folds: the same images in each fold whatever the recipe's own seed. */
export const FOLD_SEED = 20261207;

/** One way of training a model, fixed in advance: what cross-validation measures. */
export interface TrainingRecipe {
  arch: Architecture;
  /** Start from this saved model's weights instead of a fresh initialisation. */
  initFrom?: string;
  epochs: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  schedule?: LearningRateSchedule;
  minLearningRate?: number;
  emaDecay?: number;
  /** null: no augmentation. */
  augment: AugmentOptions | null;
  dropout: boolean;
  replicas: number;
  /** Absent: 'tfjs' (and so the identity of a run recorded before engines existed). */
  engine?: TrainEngine;
}

/**
 * `folds` disjoint parts of the images, each class dealt round them in proportion: within a
 * class one seeded shuffle deals its images to the folds in turn, starting where the previous
 * class stopped, so fold sizes differ by at most one image. Each fold's indices ascend.
 */
export function stratifiedFolds(labels: ArrayLike<number>, folds: number, seed = FOLD_SEED): Uint32Array[] {
  if (!Number.isInteger(folds) || folds < 2) throw new Error(`Cross-validation needs at least 2 folds, not ${folds}.`);
  if (labels.length < folds) throw new Error(`${labels.length} images cannot be cut into ${folds} folds.`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]!) ?? [];
    list.push(i);
    byClass.set(labels[i]!, list);
  }
  const out: number[][] = Array.from({ length: folds }, () => []);
  const rng = createRng(seed);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    for (const i of shuffledIndices(members.length, rng)) {
      out[next]!.push(members[i]!);
      next = (next + 1) % folds;
    }
  }
  return out.map((fold) => Uint32Array.from(fold).sort());
}

export interface FoldResult {
  fold: number;
  trainCount: number;
  heldOutCount: number;
  /** The held-out images' accuracy after the last epoch (the model the recipe makes). */
  accuracy: number;
  history: EpochReport[];
}

export interface CrossValidationResult {
  folds: FoldResult[];
  count: number;
  /** Every image scored once, by the model that did not train on it: correct / count. */
  accuracy: number;
  /** The binomial standard error of `accuracy` over `count` images. */
  standardError: number;
  /** The held-out images' mean cross-entropy after the last epoch (temperature 1). */
  loss: number;
  /** The same pooled accuracy after each epoch, to see whether the schedule's length is right. */
  accuracyByEpoch: number[];
  /** Fitted on the out-of-fold logits: the temperature for the final fit on every image. */
  temperature: number;
  ece: number;
  eceUncalibrated: number;
  /** count x k out-of-fold logits, in the images' order. */
  logits: Float32Array;
}

/** A finished fold: its figures and the logits of its held-out images, in the fold's order. */
export interface FoldOutcome extends FoldResult {
  logits: Float32Array;
}

export interface CrossValidateOptions {
  data: LabelledImages;
  numClasses: number;
  folds: number;
  foldSeed?: number;
  recipe: TrainingRecipe;
  /** Folds finished by an earlier run of the same recipe on the same images: not trained again. */
  finished?: FoldOutcome[];
  /** Train at most this many of the remaining folds in this run (a schedule longer than a session). */
  maxNewFolds?: number;
  /** Called as each fold finishes, before the next starts: where a staged run keeps it. */
  onFold?: (outcome: FoldOutcome) => void;
  onEpoch?: (fold: number, report: EpochReport) => void;
  onBatch?: (fold: number, done: number, total: number) => void;
}

/**
 * K-fold cross-validation of `recipe` on labelled images: each fold is held out once while a
 * model trains by the recipe on the others for exactly its epochs (no early stopping, the last
 * epoch kept: nothing is chosen on the held-out images), then scores it. Pooled over the folds
 * every image is scored once, so the estimate rests on all of them rather than on one small
 * split, and the out-of-fold logits give a temperature that no model saw its own images for.
 */
export async function crossValidate(
  options: Omit<CrossValidateOptions, 'maxNewFolds'>,
): Promise<CrossValidationResult> {
  const { folds, outcomes } = await trainFolds(options);
  return poolFolds(options.data, options.numClasses, folds, outcomes);
}

/**
 * The folds of `crossValidate` that are not in `options.finished`, in order, up to
 * `maxNewFolds` of them; returns the folds' indices and every outcome so far, by fold.
 */
export async function trainFolds(
  options: CrossValidateOptions,
): Promise<{ folds: Uint32Array[]; outcomes: FoldOutcome[] }> {
  await initBackend();
  const { data, numClasses: k, recipe } = options;
  const folds = stratifiedFolds(data.labels, options.folds, options.foldSeed);
  const outcomes = new Map<number, FoldOutcome>();
  for (const done of options.finished ?? []) {
    const size = folds[done.fold - 1]?.length;
    if (size === undefined || done.heldOutCount !== size || done.logits.length !== size * k)
      throw badInput(
        `The finished fold ${done.fold} does not match these ${options.folds} folds of ${data.count} images: delete its file (fold-${done.fold}.json in the state folder) and it is trained again.`,
      );
    outcomes.set(done.fold, done);
  }
  let budget = options.maxNewFolds ?? Infinity;
  for (let f = 0; f < folds.length && budget > 0; f++) {
    const fold = f + 1;
    if (outcomes.has(fold)) continue;
    budget--;
    const heldOutIdx = folds[f]!;
    const inFold = new Uint8Array(data.count);
    for (const i of heldOutIdx) inFold[i] = 1;
    const trainIdx = new Uint32Array(data.count - heldOutIdx.length);
    let t = 0;
    for (let i = 0; i < data.count; i++) if (!inFold[i]) trainIdx[t++] = i;
    const train = selectImages(data.pixels, data.labels, trainIdx);
    const heldOut = selectImages(data.pixels, data.labels, heldOutIdx);
    tf.engine().startScope();
    let model: tf.LayersModel | null = null;
    try {
      model = recipe.initFrom
        ? await loadInitialModel(recipe.initFrom, recipe.arch, k)
        : createModel(recipe.arch, { numClasses: k, seed: recipe.seed });
      const { history } = await trainModel({
        model,
        train,
        validation: heldOut,
        numClasses: k,
        epochs: recipe.epochs,
        batchSize: recipe.batchSize,
        learningRate: recipe.learningRate,
        seed: recipe.seed,
        augment: recipe.augment,
        dropout: recipe.dropout,
        replicas: recipe.replicas,
        engine: recipe.engine,
        schedule: recipe.schedule,
        minLearningRate: recipe.minLearningRate,
        emaDecay: recipe.emaDecay,
        keepLastEpoch: true,
        onEpoch: (report) => options.onEpoch?.(fold, report),
        onBatch: (done, total) => options.onBatch?.(fold, done, total),
      });
      const foldLogits = await predictLogits(model, heldOut.pixels, heldOut.count);
      const outcome: FoldOutcome = {
        fold,
        trainCount: train.count,
        heldOutCount: heldOut.count,
        accuracy: accuracyOfLogits(foldLogits, heldOut.labels, k),
        history,
        logits: foldLogits,
      };
      outcomes.set(fold, outcome);
      options.onFold?.(outcome);
    } finally {
      tf.engine().endScope();
      model?.dispose();
    }
  }
  return { folds, outcomes: [...outcomes.values()].sort((a, b) => a.fold - b.fold) };
}

/** Pools every fold's held-out logits into the cross-validation's figures; every fold must be done. */
export function poolFolds(
  data: LabelledImages,
  k: number,
  folds: Uint32Array[],
  outcomes: FoldOutcome[],
): CrossValidationResult {
  const missing = folds.map((_, f) => f + 1).filter((fold) => !outcomes.some((o) => o.fold === fold));
  if (missing.length > 0) throw new Error(`Folds ${missing.join(', ')} of ${folds.length} are not finished yet.`);
  const logits = new Float32Array(data.count * k);
  for (const outcome of outcomes)
    folds[outcome.fold - 1]!.forEach((row, i) => logits.set(outcome.logits.subarray(i * k, (i + 1) * k), row * k));
  const results: FoldResult[] = outcomes.map(({ logits: _logits, ...result }) => result);
  const accuracy = accuracyOfLogits(logits, data.labels, k);
  const loss = results.reduce((sum, r) => sum + r.history.at(-1)!.valLoss * r.heldOutCount, 0) / data.count;
  const epochs = Math.min(...results.map((r) => r.history.length));
  const accuracyByEpoch = Array.from(
    { length: epochs },
    (_, e) => results.reduce((sum, r) => sum + r.history[e]!.valAccuracy * r.heldOutCount, 0) / data.count,
  );
  const temperature = fitTemperature(logits, data.labels, k);
  const ece = (t: number) => expectedCalibrationError({ probs: softmaxRows(logits, k, t), labels: data.labels, k }).ece;
  return {
    folds: results,
    count: data.count,
    accuracy,
    standardError: Math.sqrt((accuracy * (1 - accuracy)) / data.count),
    loss,
    accuracyByEpoch,
    temperature,
    ece: ece(temperature),
    eceUncalibrated: ece(1),
    logits,
  };
}
