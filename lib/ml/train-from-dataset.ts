import * as tf from '@tensorflow/tfjs';
import { readIdxSplit } from '@/lib/formats/idx';
import { initBackend } from '@/lib/ml/backend';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { DEFAULT_AUGMENT, type AugmentOptions } from '@/lib/ml/model-input';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { createModel, type Architecture } from '@/lib/ml/model';
import { badInput } from '@/lib/errors';
import { loadModel, saveModel, type ModelMeta } from '@/lib/ml/model-store';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { accuracyOfLogits, predictLogits, type TestTimeAugmentation } from '@/lib/ml/predict';
import {
  trainModel,
  type EpochReport,
  type LabelledImages,
  type LearningRateSchedule,
  type TrainEngine,
} from '@/lib/ml/train';

/** Fixed seed for the train/validation split: the same 5,000 images whatever the training seed. */
export const SPLIT_SEED = 20170825;
/** The validation split's size used for every shipped model (`npm run train --val-size`). */
export const DEFAULT_VALIDATION_SIZE = 5000;

/**
 * Indices into the Fashion-MNIST training set: the first `validationSize` of one fixed shuffle
 * are the validation split, the rest are for training. The demo holdout and the replay pool
 * (lib/learning) are cut from the same shuffle, so no model ever trains on the holdout.
 */
export function splitTrainingIndices(
  count: number,
  validationSize: number,
): { trainIdx: Uint32Array; validationIdx: Uint32Array } {
  const order = shuffledIndices(count, createRng(SPLIT_SEED));
  return { trainIdx: order.subarray(validationSize), validationIdx: order.subarray(0, validationSize) };
}

export interface TrainFromDatasetOptions {
  arch: Architecture;
  datasetDir: string;
  out: string;
  epochs: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  validationSize: number;
  /** Use only the first N training images (after the validation split): quick runs and tests. */
  limit?: number;
  /** Start from this saved model's weights (fine-tuning) instead of a fresh initialisation. */
  initFrom?: string;
  augment: boolean;
  /**
   * The augmentation preset: trained with when `augment` is on, and recorded in meta.json either
   * way (fine-tuning the model later uses it). Default DEFAULT_AUGMENT (clothing: flips, erasing)
   * for Fashion-MNIST; other `data` must name its own.
   */
  augmentation?: AugmentOptions;
  /**
   * Train on these instead of the Fashion-MNIST training set in `datasetDir` (another data set
   * with its own fixed split, e.g. lib/learning/digits-data.ts); `description` goes into meta.json.
   */
  data?: { train: LabelledImages; validation: LabelledImages; classNames: readonly string[]; description: string };
  /** false: dropout layers are skipped while fitting (see trainModel). */
  dropout?: boolean;
  /** Threads computing each step together (trainModel's `replicas`); default 1. */
  replicas?: number;
  /** trainModel's engine: 'tfjs' (default), 'onnx' (ONNX Runtime computes each step) or 'auto'. */
  engine?: TrainEngine;
  /** trainModel's onEngine: which engine the run uses, and why tfjs where 'auto' fell back to it. */
  onEngine?: (engine: 'tfjs' | 'onnx', why?: string) => void;
  /** trainModel's schedule, minLearningRate and emaDecay. */
  schedule?: LearningRateSchedule;
  minLearningRate?: number;
  emaDecay?: number;
  /** trainModel's keepLastEpoch: the epochs were fixed beforehand, the last one is kept. */
  keepLastEpoch?: boolean;
  /**
   * A temperature fitted beforehand (on cross-validation's out-of-fold logits), for a model whose
   * validation images are in its training data too: it is used as is, and mirror averaging is not
   * chosen, since figures on images the model was trained on would choose both wrongly.
   */
  temperature?: number;
  /**
   * Figures measured by cross-validation on images no fold model trained on, recorded as the
   * model's validation figures instead of those on `validation` (for a model trained on every
   * image, a fit, not an estimate).
   */
  outOfFold?: ModelMeta['validation'] & { count: number };
  onEpoch?: (report: EpochReport) => void;
  onBatch?: (done: number, total: number) => void;
}

export function selectImages(pixels: Uint8Array, labels: Uint8Array, indices: ArrayLike<number>): LabelledImages {
  const out = new Uint8Array(indices.length * PIXELS_PER_IMAGE);
  const outLabels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]! * PIXELS_PER_IMAGE;
    out.set(pixels.subarray(src, src + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    outLabels[i] = labels[indices[i]!]!;
  }
  return { pixels: out, labels: outLabels, count: indices.length };
}

interface TtaChoice {
  mode: TestTimeAugmentation;
  logits: Float32Array;
  accuracy: number;
  accuracyWithoutTta: number;
}

/**
 * Mirror averaging (predict the image and its horizontal mirror, average the logits) is kept
 * only if it is more accurate on the validation split; it doubles the cost of a prediction.
 */
async function chooseTestTimeAugmentation(
  model: tf.LayersModel,
  validation: LabelledImages,
  k: number,
): Promise<TtaChoice> {
  const plain = await predictLogits(model, validation.pixels, validation.count);
  const mirrored = await predictLogits(model, validation.pixels, validation.count, { testTimeAugmentation: 'hflip' });
  const plainAccuracy = accuracyOfLogits(plain, validation.labels, k);
  const mirroredAccuracy = accuracyOfLogits(mirrored, validation.labels, k);
  return mirroredAccuracy > plainAccuracy
    ? { mode: 'hflip', logits: mirrored, accuracy: mirroredAccuracy, accuracyWithoutTta: plainAccuracy }
    : { mode: 'none', logits: plain, accuracy: plainAccuracy, accuracyWithoutTta: plainAccuracy };
}

/** The plain predictions' figures, for a model whose mirror averaging is not to be chosen. */
async function withoutTestTimeAugmentation(
  model: tf.LayersModel,
  validation: LabelledImages,
  k: number,
): Promise<TtaChoice> {
  const logits = await predictLogits(model, validation.pixels, validation.count);
  const accuracy = accuracyOfLogits(logits, validation.labels, k);
  return { mode: 'none', logits, accuracy, accuracyWithoutTta: accuracy };
}

/** The saved model to start from, refused unless it has `arch` and `k` classes. */
export async function loadInitialModel(dir: string, arch: Architecture, k: number): Promise<tf.LayersModel> {
  const { model, meta } = await loadModel(dir);
  if (meta.arch !== arch) throw badInput(`--init-from ${dir} holds a ${meta.arch} model, not ${arch}.`);
  if (meta.classNames.length !== k)
    throw badInput(`--init-from ${dir} has ${meta.classNames.length} classes; the training data has ${k}.`);
  return model;
}

/** The fixed train/validation split of the Fashion-MNIST training set. */
function splitTrainingSet(
  datasetDir: string,
  validationSize: number,
  limit?: number,
): { train: LabelledImages; validation: LabelledImages } {
  const { images, labels } = readIdxSplit(datasetDir, 'train');
  const split = splitTrainingIndices(images.count, validationSize);
  const trainIdx = limit ? split.trainIdx.subarray(0, limit) : split.trainIdx;
  return {
    train: selectImages(images.pixels, labels, trainIdx),
    validation: selectImages(images.pixels, labels, split.validationIdx),
  };
}

/**
 * Re-runs the post-training steps on a saved model (mirror averaging chosen on validation,
 * temperature refitted) without training again; the rest of its metadata is kept. The
 * validation images are Fashion-MNIST's fixed split unless `validation` names the model's own
 * (the digits'); a model of other classes without them is refused, not fitted on clothing.
 */
export async function finalizeSavedModel(options: {
  dir: string;
  datasetDir: string;
  validation?: LabelledImages;
}): Promise<ModelMeta> {
  await initBackend();
  const { model, meta } = await loadModel(options.dir);
  const fashion =
    meta.classNames.length === FASHION_MNIST_CLASSES.length &&
    meta.classNames.every((name, i) => name === FASHION_MNIST_CLASSES[i]);
  if (!options.validation && !fashion) {
    model.dispose();
    throw badInput(
      `${options.dir} classifies ${meta.classNames.join(', ')}, not Fashion-MNIST: name its data (e.g. --data mnist-digits) so its own validation images are used.`,
    );
  }
  const validation = options.validation ?? splitTrainingSet(options.datasetDir, meta.validationCount).validation;
  const k = meta.classNames.length;
  const tta = await chooseTestTimeAugmentation(model, validation, k);
  const temperature = fitTemperature(tta.logits, validation.labels, k);
  const updated: ModelMeta = {
    ...meta,
    testTimeAugmentation: tta.mode,
    temperature,
    validation: {
      ...meta.validation,
      accuracy: tta.accuracy,
      accuracyWithoutTta: tta.accuracyWithoutTta,
      ece: expectedCalibrationError({ probs: softmaxRows(tta.logits, k, temperature), labels: validation.labels, k })
        .ece,
      eceUncalibrated: expectedCalibrationError({ probs: softmaxRows(tta.logits, k, 1), labels: validation.labels, k })
        .ece,
    },
  };
  await saveModel(options.dir, model, updated);
  model.dispose();
  return updated;
}

/**
 * Splits the Fashion-MNIST training set into train and a fixed validation part, trains
 * `arch`, fits the temperature on validation, and saves model + meta.json to `out`.
 * The test set is never touched here: epochs and hyper-parameters are chosen on validation.
 */
export async function trainFromDataset(options: TrainFromDatasetOptions): Promise<ModelMeta> {
  const backend = await initBackend();
  const { train, validation } =
    options.data ?? splitTrainingSet(options.datasetDir, options.validationSize, options.limit);
  const classNames = options.data?.classNames ?? FASHION_MNIST_CLASSES;
  const k = classNames.length;
  const augmentation = options.augmentation ?? (options.data ? undefined : DEFAULT_AUGMENT);
  if (!augmentation)
    throw badInput(
      `name the augmentation for ${options.data!.description}: the default (flips, erasing) is Fashion-MNIST's.`,
    );

  tf.engine().startScope();
  const model = options.initFrom
    ? await loadInitialModel(options.initFrom, options.arch, k)
    : createModel(options.arch, { numClasses: k, seed: options.seed });
  const started = performance.now();
  let usedEngine: 'tfjs' | 'onnx' = 'tfjs';
  const describe = (input: {
    validationLogits: Float32Array;
    history: EpochReport[];
    bestEpoch: number;
    imagesPerSecond: number;
    tta?: TtaChoice;
  }): ModelMeta => {
    const { validationLogits: logits, history } = input;
    const temperature = options.temperature ?? fitTemperature(logits, validation.labels, k);
    const best = history.find((h) => h.epoch === input.bestEpoch);
    return {
      testTimeAugmentation: input.tta?.mode ?? 'none',
      arch: options.arch,
      classNames: [...classNames],
      temperature,
      params: model.countParams(),
      seed: options.seed,
      ...(options.initFrom ? { initFrom: options.initFrom } : {}),
      augment: options.augment,
      augmentation,
      dropout: options.dropout ?? true,
      // ONNX Runtime computes each step on its own threads; replicas apply to tfjs only.
      replicas: usedEngine === 'onnx' ? 1 : (options.replicas ?? 1),
      ...(usedEngine === 'onnx' ? { engine: 'onnx' as const } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      ...(options.emaDecay ? { emaDecay: options.emaDecay } : {}),
      backend,
      trainedAt: new Date().toISOString(),
      trainingSeconds: (performance.now() - started) / 1000,
      epochs: history.length,
      bestEpoch: input.bestEpoch,
      trainImagesPerSecond: input.imagesPerSecond,
      dataset: options.data?.description ?? `fashion-mnist train (${options.datasetDir})`,
      trainCount: train.count,
      validationCount: options.outOfFold?.count ?? validation.count,
      validation: options.outOfFold
        ? validationFigures(options.outOfFold)
        : {
            accuracy: input.tta?.accuracy ?? best?.valAccuracy ?? 0,
            ...(input.tta ? { accuracyWithoutTta: input.tta.accuracyWithoutTta } : {}),
            loss: best?.valLoss ?? 0,
            ece: expectedCalibrationError({ probs: softmaxRows(logits, k, temperature), labels: validation.labels, k })
              .ece,
            eceUncalibrated: expectedCalibrationError({
              probs: softmaxRows(logits, k, 1),
              labels: validation.labels,
              k,
            }).ece,
          },
      history,
    };
  };
  const result = await trainModel({
    model,
    train,
    validation,
    numClasses: k,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    seed: options.seed,
    augment: options.augment ? augmentation : null,
    dropout: options.dropout,
    replicas: options.replicas,
    engine: options.engine,
    onEngine: (engine, why) => {
      usedEngine = engine;
      options.onEngine?.(engine, why);
    },
    schedule: options.schedule,
    minLearningRate: options.minLearningRate,
    emaDecay: options.emaDecay,
    keepLastEpoch: options.keepLastEpoch,
    onEpoch: options.onEpoch,
    onBatch: options.onBatch,
    // A checkpoint after every better epoch: a run stopped early still leaves its best model.
    onImproved: async ({ epoch, history, validationLogits }) => {
      const seconds = history.reduce((sum, h) => sum + h.seconds, 0);
      const images = history.length * Math.floor(train.count / options.batchSize) * options.batchSize;
      await saveModel(
        options.out,
        model,
        describe({ validationLogits, history, bestEpoch: epoch, imagesPerSecond: images / seconds }),
        { calibrationImages: train },
      );
    },
  });
  const tta =
    options.temperature === undefined
      ? await chooseTestTimeAugmentation(model, validation, k)
      : await withoutTestTimeAugmentation(model, validation, k);
  const meta = describe({
    validationLogits: tta.logits,
    history: result.history,
    bestEpoch: result.bestEpoch,
    imagesPerSecond: result.imagesPerSecond,
    tta,
  });
  await saveModel(options.out, model, meta, { calibrationImages: train });
  tf.engine().endScope();
  model.dispose();
  return meta;
}

function validationFigures({ count: _count, ...figures }: ModelMeta['validation'] & { count: number }) {
  return figures;
}
