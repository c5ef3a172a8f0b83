import * as tf from '@tensorflow/tfjs';
import { readIdxSplit } from '@/lib/data/idx';
import { initBackend } from '@/lib/ml/backend';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { DEFAULT_AUGMENT } from '@/lib/ml/data';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { createModel, type Architecture } from '@/lib/ml/model';
import { saveModel, type ModelMeta } from '@/lib/ml/model-store';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { evaluateLoss, trainModel, type EpochReport, type LabelledImages } from '@/lib/ml/train';

/** Fixed seed for the train/validation split: the same 5,000 images whatever the training seed. */
const SPLIT_SEED = 20170825;

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
  augment: boolean;
  onEpoch?: (report: EpochReport) => void;
  onBatch?: (done: number, total: number) => void;
}

function subset(pixels: Uint8Array, labels: Uint8Array, indices: ArrayLike<number>): LabelledImages {
  const out = new Uint8Array(indices.length * PIXELS_PER_IMAGE);
  const outLabels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]! * PIXELS_PER_IMAGE;
    out.set(pixels.subarray(src, src + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    outLabels[i] = labels[indices[i]!]!;
  }
  return { pixels: out, labels: outLabels, count: indices.length };
}

/**
 * Splits the Fashion-MNIST training set into train and a fixed validation part, trains
 * `arch`, fits the temperature on validation, and saves model + meta.json to `out`.
 * The test set is never touched here: epochs and hyper-parameters are chosen on validation.
 */
export async function trainFromDataset(options: TrainFromDatasetOptions): Promise<ModelMeta> {
  const backend = await initBackend();
  const { images, labels } = readIdxSplit(options.datasetDir, 'train');
  const order = shuffledIndices(images.count, createRng(SPLIT_SEED));
  const validationIdx = order.subarray(0, options.validationSize);
  let trainIdx = order.subarray(options.validationSize);
  if (options.limit) trainIdx = trainIdx.subarray(0, options.limit);
  const train = subset(images.pixels, labels, trainIdx);
  const validation = subset(images.pixels, labels, validationIdx);
  const k = FASHION_MNIST_CLASSES.length;

  tf.engine().startScope();
  const model = createModel(options.arch, { numClasses: k, seed: options.seed });
  const started = performance.now();
  const describe = (input: { validationLogits: Float32Array; history: EpochReport[]; bestEpoch: number; imagesPerSecond: number }): ModelMeta => {
    const { validationLogits: logits, history } = input;
    const temperature = fitTemperature(logits, validation.labels, k);
    const best = history.find((h) => h.epoch === input.bestEpoch);
    return {
      arch: options.arch,
      classNames: [...FASHION_MNIST_CLASSES],
      temperature,
      params: model.countParams(),
      seed: options.seed,
      backend,
      trainedAt: new Date().toISOString(),
      trainingSeconds: (performance.now() - started) / 1000,
      epochs: history.length,
      bestEpoch: input.bestEpoch,
      trainImagesPerSecond: input.imagesPerSecond,
      dataset: `fashion-mnist train (${options.datasetDir})`,
      trainCount: train.count,
      validationCount: validation.count,
      validation: {
        accuracy: best?.valAccuracy ?? 0,
        loss: best?.valLoss ?? 0,
        ece: expectedCalibrationError({ probs: softmaxRows(logits, k, temperature), labels: validation.labels, k }).ece,
        eceUncalibrated: expectedCalibrationError({ probs: softmaxRows(logits, k, 1), labels: validation.labels, k }).ece,
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
    augment: options.augment ? DEFAULT_AUGMENT : null,
    onEpoch: options.onEpoch,
    onBatch: options.onBatch,
    // A checkpoint after every better epoch: a run stopped early still leaves its best model.
    onImproved: async ({ epoch, history, validationLogits }) => {
      const seconds = history.reduce((sum, h) => sum + h.seconds, 0);
      const images = history.length * Math.floor(train.count / options.batchSize) * options.batchSize;
      await saveModel(options.out, model, describe({ validationLogits, history, bestEpoch: epoch, imagesPerSecond: images / seconds }));
    },
  });
  const final = await evaluateLoss(model, validation, k);
  const meta = describe({ validationLogits: final.logits, history: result.history, bestEpoch: result.bestEpoch, imagesPerSecond: result.imagesPerSecond });
  await saveModel(options.out, model, meta);
  tf.engine().endScope();
  model.dispose();
  return meta;
}
