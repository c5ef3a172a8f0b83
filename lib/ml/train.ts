import * as tf from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE, IMAGE_SIZE } from '@/lib/ml/classes';
import { augmentBatch, type AugmentOptions, DEFAULT_AUGMENT } from '@/lib/ml/model-input';
import { argmaxRows, predictLogits } from '@/lib/ml/predict';
import { negativeLogLikelihood } from '@/lib/ml/calibration';
import { dropoutLayers } from '@/lib/ml/model';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { ArrayAdam } from '@/lib/ml/train-optimizer';
import { TrainReplicas } from '@/lib/ml/train-replicas';
import { OnnxTrainStep } from '@/lib/ml/train-onnx';
import { AppError } from '@/lib/errors';
import { LEARNING_RATE_SCHEDULES, type LearningRateSchedule } from '@/lib/ml/schedules';

export interface LabelledImages {
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  valLoss: number;
  valAccuracy: number;
  learningRate: number;
  seconds: number;
}

export interface TrainOptions {
  model: tf.LayersModel;
  train: LabelledImages;
  validation: LabelledImages;
  numClasses: number;
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  augment?: AugmentOptions | null;
  /** Halve the learning rate after this many epochs without a better validation figure (`selectBy`). */
  lrPatience?: number;
  /** Stop after this many epochs without a better validation figure (best weights restored). */
  stopPatience?: number;
  /**
   * Which validation figure makes an epoch the best one, whose weights are kept: 'loss'
   * (default; what calibration and the shipped models want) or 'accuracy' (the model lab,
   * whose table ranks accuracy; a tie goes to the lower loss). The plateau schedule and early
   * stopping count epochs without a better figure of the same kind.
   */
  selectBy?: SelectionMetric;
  /**
   * Every epoch is kept in turn, so the model ends with the last epoch's weights and training
   * never stops early: for a schedule whose length was fixed beforehand (cross-validation, and
   * the final fit on every labelled image that follows it), where the validation images are no
   * held-out judge of which epoch is best.
   */
  keepLastEpoch?: boolean;
  /**
   * Runs the layers as at prediction time while fitting: batch norm normalises with (and
   * keeps) its moving statistics, dropout is off. For fine-tuning a trained model on a few
   * thousand images, where batch statistics of small, unusual batches would shift what every
   * later layer sees.
   */
  inferenceModeLayers?: boolean;
  /**
   * false: dropout layers are skipped while fitting (their rate is kept for saving). For
   * continuing a trained model with augmentation alone, when it underfits with both.
   */
  dropout?: boolean;
  /**
   * Threads that compute each step's gradients together (data parallelism, see
   * TrainReplicas): 1 trains in the calling thread alone; n adds n - 1 worker threads.
   */
  replicas?: number;
  /**
   * What computes each step's loss and gradients: 'tfjs' (default; the model's own layers on the
   * TensorFlow.js backend, with `replicas`), or 'onnx': the step as one ONNX graph run by ONNX
   * Runtime's native kernels on `threads` threads (lib/ml/train-onnx.ts; `replicas` unused). The
   * optimizer, schedule, average and checkpoints are the same either way. 'auto': onnx where
   * the engine can train the model and ONNX Runtime loads in this thread, tfjs otherwise.
   */
  engine?: TrainEngine;
  /** ONNX Runtime's intra-op threads for engine 'onnx' (default: every core). */
  threads?: number;
  /**
   * Told once, before the first step, which engine computes the steps; with engine 'auto'
   * (onnx where it can train the model, else tfjs), `why` says why it is tfjs.
   */
  onEngine?: (engine: 'tfjs' | 'onnx', why?: string) => void;
  /**
   * 'plateau' (default): halve the learning rate after `lrPatience` epochs without a better
   * validation loss. 'cosine': from `learningRate` down to `minLearningRate` along half a cosine
   * over every step of `epochs` (no halving; early stopping still applies).
   */
  schedule?: LearningRateSchedule;
  minLearningRate?: number;
  /**
   * Exponential moving average of every weight (batch-norm statistics included), updated after
   * each step with this decay (e.g. 0.999; warmed up as min(decay, (1 + t) / (10 + t))). When
   * set, validation, checkpoints and the returned model use the averaged weights.
   */
  emaDecay?: number;
  onEpoch?: (report: EpochReport) => void;
  onBatch?: (done: number, total: number) => void;
  /**
   * Called after an epoch that became the best one (`selectBy`), while the model holds that
   * epoch's weights: the place to write a checkpoint, so a run stopped early loses nothing.
   */
  onImproved?: (info: { epoch: number; history: EpochReport[]; validationLogits: Float32Array }) => Promise<void>;
}

export { LEARNING_RATE_SCHEDULES, type LearningRateSchedule };
export type SelectionMetric = 'loss' | 'accuracy';
export const TRAIN_ENGINES = ['tfjs', 'onnx', 'auto'] as const;
export type TrainEngine = (typeof TRAIN_ENGINES)[number];

/** Whether validation figures `next` beat `best` under `selectBy` (a loss must drop by more than 1e-4). */
export function isBetterEpoch(
  next: { loss: number; accuracy: number },
  best: { loss: number; accuracy: number },
  selectBy: SelectionMetric,
): boolean {
  if (selectBy === 'loss') return next.loss < best.loss - 1e-4;
  return next.accuracy > best.accuracy || (next.accuracy === best.accuracy && next.loss < best.loss - 1e-4);
}

/** The cosine schedule's rate at `step` of `total`: `max` at 0, `min` at `total`. */
export function cosineLearningRate(options: { step: number; total: number; max: number; min: number }): number {
  const { step, total, max, min } = options;
  const progress = total <= 0 ? 1 : Math.min(1, step / total);
  return min + ((max - min) * (1 + Math.cos(Math.PI * progress))) / 2;
}

/**
 * The moving average of a model's weights (tf.layers' order, non-trainable ones included), kept
 * as plain floats on the JS side: no tensors per step. `swapIn` puts the average into the
 * model and returns the weights it replaced, for `swapOut`.
 */
class WeightAverage {
  private readonly average: Float32Array[];
  private updates = 0;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly decay: number,
  ) {
    this.average = model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
  }

  update(): void {
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    this.model.weights.forEach((w, i) => {
      const current = w.read().dataSync() as Float32Array;
      const avg = this.average[i]!;
      for (let j = 0; j < avg.length; j++) avg[j] = d * avg[j]! + (1 - d) * current[j]!;
    });
  }

  swapIn(): tf.Tensor[] {
    const raw = this.model.getWeights().map((w) => w.clone());
    this.model.setWeights(this.model.weights.map((w, i) => tf.tensor(this.average[i]!, w.read().shape)));
    return raw;
  }

  swapOut(raw: tf.Tensor[]): void {
    this.model.setWeights(raw);
    tf.dispose(raw);
  }
}

export interface TrainResult {
  history: EpochReport[];
  bestEpoch: number;
  imagesPerSecond: number;
  seconds: number;
}

function oneHotBatch(labels: Uint8Array, indices: ArrayLike<number>, k: number): Float32Array {
  const out = new Float32Array(indices.length * k);
  for (let i = 0; i < indices.length; i++) out[i * k + labels[indices[i]!]!] = 1;
  return out;
}

/** Validation loss (mean NLL at T=1) and accuracy, without augmentation or dropout. */
export async function evaluateLoss(
  model: tf.LayersModel,
  data: LabelledImages,
  k: number,
): Promise<{ loss: number; accuracy: number; logits: Float32Array }> {
  const logits = await predictLogits(model, data.pixels, data.count);
  const predicted = argmaxRows(logits, k);
  let correct = 0;
  for (let i = 0; i < data.count; i++) if (predicted[i] === data.labels[i]) correct++;
  return { loss: negativeLogLikelihood(logits, data.labels, k, 1), accuracy: correct / data.count, logits };
}

/**
 * Mini-batch Adam on softmax cross-entropy with augmentation, learning-rate reduction on a
 * validation-loss plateau, and early stopping that restores the best epoch's weights.
 * The model is trained in place. Everything random comes from `seed`.
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const { model, train, validation, numClasses: k } = options;
  const batchSize = options.batchSize ?? 128;
  const seed = options.seed ?? 42;
  const augment = options.augment === undefined ? DEFAULT_AUGMENT : options.augment;
  const lrPatience = options.lrPatience ?? 2;
  const stopPatience = options.stopPatience ?? 5;
  const baseLearningRate = options.learningRate ?? 1e-3;
  // The model's own trainable weights (a layer set `trainable = false` stays as it is), not
  // every trainable variable the engine happens to hold.
  const varList = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new ArrayAdam(varList, baseLearningRate);
  const cosine = options.schedule === 'cosine';
  const setLearningRate = (lr: number) => (optimizer.learningRate = lr);
  const rng = createRng(seed);
  const dropoutOff = options.dropout === false ? dropoutLayers(model) : [];
  const dropoutRates = dropoutOff.map((layer) => layer.rate);
  const restoreDropout = () => dropoutOff.forEach((layer, i) => (layer.rate = dropoutRates[i]!));
  if (options.engine === 'onnx' && options.inferenceModeLayers)
    throw new AppError(
      'bad_input',
      'The ONNX Runtime engine trains with batch statistics only; fine-tune in inference mode with --engine tfjs.',
    );
  const startOnnx = () =>
    OnnxTrainStep.start({
      model,
      variables: varList,
      numClasses: k,
      dropoutOff: options.dropout === false,
      seed,
      threads: options.threads,
    });
  let onnx: OnnxTrainStep | null = null;
  let tfjsBecause: string | undefined;
  if (options.engine === 'onnx') onnx = await startOnnx();
  else if (options.engine === 'auto') {
    if (options.inferenceModeLayers) tfjsBecause = 'fine-tuning in inference mode';
    else
      try {
        onnx = await startOnnx();
      } catch (error) {
        tfjsBecause = (error as Error).message;
      }
  }
  options.onEngine?.(onnx ? 'onnx' : 'tfjs', tfjsBecause);
  const replicas =
    !onnx && (options.replicas ?? 1) > 1
      ? await TrainReplicas.start({
          model,
          variables: varList,
          count: options.replicas! - 1,
          training: !options.inferenceModeLayers,
          dropoutOff: options.dropout === false,
        })
      : null;
  const history: EpochReport[] = [];
  const average = options.emaDecay ? new WeightAverage(model, options.emaDecay) : null;
  const stepsPerEpoch = Math.floor(train.count / batchSize);
  const batchFloats = new Float32Array(batchSize * PIXELS_PER_IMAGE);
  const selectBy = options.selectBy ?? 'loss';
  let best = { loss: Infinity, accuracy: -Infinity, epoch: 0, weights: null as tf.Tensor[] | null };
  let sinceImproved = 0;
  let sinceLrChange = 0;
  let trainedImages = 0;
  let trainingMs = 0;
  const started = performance.now();

  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const epochStart = performance.now();
      const order = shuffledIndices(train.count, rng);
      const batches = Math.floor(train.count / batchSize);
      let lossSum = 0;
      for (const layer of dropoutOff) layer.rate = 0;
      for (let b = 0; b < batches; b++) {
        const indices = order.subarray(b * batchSize, (b + 1) * batchSize);
        if (augment) augmentBatch({ pixels: train.pixels, indices, rng, out: batchFloats, augment });
        else
          for (let i = 0; i < batchSize; i++)
            for (let p = 0; p < PIXELS_PER_IMAGE; p++)
              batchFloats[i * PIXELS_PER_IMAGE + p] = train.pixels[indices[i]! * PIXELS_PER_IMAGE + p]! / 255;
        const oneHot = oneHotBatch(train.labels, indices, k);
        if (cosine)
          setLearningRate(
            cosineLearningRate({
              step: (epoch - 1) * stepsPerEpoch + b,
              total: options.epochs * stepsPerEpoch,
              max: baseLearningRate,
              min: options.minLearningRate ?? 0,
            }),
          );
        if (onnx) {
          lossSum += await onnx.step(optimizer, batchFloats, oneHot, batchSize, k);
        } else if (replicas) {
          lossSum += await replicas.step(optimizer, batchFloats, oneHot, batchSize, k);
        } else {
          const xs = tf.tensor4d(batchFloats, [batchSize, IMAGE_SIZE, IMAGE_SIZE, 1]);
          const ys = tf.tensor2d(oneHot, [batchSize, k]);
          const { value, grads } = tf.variableGrads(
            () =>
              tf.losses.softmaxCrossEntropy(
                ys,
                model.apply(xs, { training: !options.inferenceModeLayers }) as tf.Tensor,
              ) as tf.Scalar,
            varList,
          );
          lossSum += (await value.data())[0]!;
          optimizer.applyNamed(grads);
          tf.dispose([xs, ys, value, ...Object.values(grads)]);
        }
        average?.update();
        options.onBatch?.(b + 1, batches);
        // A batch's awaits resolve as microtasks, which never let timers or signal handlers
        // run: without this turn of the event loop a worker misses its lease renewals and
        // heartbeats, and cannot hear SIGTERM, for a whole epoch.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      restoreDropout();
      const epochTrainMs = performance.now() - epochStart;
      trainingMs += epochTrainMs;
      trainedImages += batches * batchSize;
      // With an average, every figure and checkpoint of the epoch is the averaged model's.
      const raw = average?.swapIn() ?? null;
      const val = await evaluateLoss(model, validation, k);
      const learningRate = optimizer.learningRate;
      const report: EpochReport = {
        epoch,
        loss: lossSum / batches,
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        learningRate,
        seconds: (performance.now() - epochStart) / 1000,
      };
      history.push(report);
      options.onEpoch?.(report);

      if (options.keepLastEpoch || isBetterEpoch(val, best, selectBy)) {
        tf.dispose(best.weights ?? []);
        best = {
          loss: val.loss,
          accuracy: val.accuracy,
          epoch,
          weights: model.getWeights().map((w) => w.clone()),
        };
        sinceImproved = 0;
        sinceLrChange = 0;
        await options.onImproved?.({ epoch, history: [...history], validationLogits: val.logits });
        if (raw) average!.swapOut(raw);
      } else {
        if (raw) average!.swapOut(raw);
        sinceImproved++;
        sinceLrChange++;
        if (sinceImproved >= stopPatience) break;
        if (!cosine && sinceLrChange >= lrPatience) {
          setLearningRate(Math.max(learningRate * 0.5, 1e-5));
          sinceLrChange = 0;
        }
      }
    }
  } finally {
    restoreDropout();
    await replicas?.dispose();
    await onnx?.dispose();
  }
  if (best.weights) {
    model.setWeights(best.weights);
    tf.dispose(best.weights);
  }
  return {
    history,
    bestEpoch: best.epoch,
    imagesPerSecond: trainedImages / (trainingMs / 1000),
    seconds: (performance.now() - started) / 1000,
  };
}
