import type * as tf from '@tensorflow/tfjs';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import { DEFAULT_AUGMENT } from '@/lib/ml/data';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { argmaxRows, predictLogits, type TestTimeAugmentation } from '@/lib/ml/predict';
import { trainModel, type EpochReport, type LabelledImages } from '@/lib/ml/train';

export interface FineTuneSettings {
  epochs: number;
  learningRate: number;
  batchSize: number;
  seed: number;
  /**
   * 'head': only the layers after the last flatten learn; the convolutions (and their batch
   * norm) keep the features the model learnt on the full training set. 'all': every layer.
   */
  layers: 'head' | 'all';
  /** Batch norm keeps its moving statistics and dropout is off while fitting (see trainModel). */
  inferenceModeLayers: boolean;
}

export interface FineTuneResult {
  history: EpochReport[];
  bestEpoch: number;
  seconds: number;
  imagesPerSecond: number;
  /** Fitted on the validation slice after training. */
  temperature: number;
  validationAccuracyBefore: number;
  validationAccuracy: number;
  validationLoss: number;
  validationEce: number;
  validationEceUncalibrated: number;
}

function accuracyOf(logits: Float32Array, labels: Uint8Array, k: number): number {
  const predicted = argmaxRows(logits, k);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return labels.length === 0 ? 0 : correct / labels.length;
}

/** Makes only the layers after the last flatten trainable, or every layer again. */
function setHeadOnly(model: tf.LayersModel, headOnly: boolean): void {
  const lastFlatten = model.layers.map((layer) => layer.getClassName()).lastIndexOf('Flatten');
  model.layers.forEach((layer, i) => {
    if (i <= lastFlatten) layer.trainable = !headOnly;
  });
}

/**
 * Fine-tunes `model` in place on `fit` (augmented as in base training), validating on
 * `validation` after each epoch; stops at the first epoch that does not improve the
 * validation loss and keeps the best epoch's weights. Then fits the temperature on the
 * validation slice (held-out data, never the holdout).
 */
export async function fineTune(input: {
  model: tf.LayersModel;
  fit: LabelledImages;
  validation: LabelledImages;
  numClasses: number;
  testTimeAugmentation: TestTimeAugmentation;
  settings: FineTuneSettings;
  onBatch?: (epoch: number, batch: number, batches: number) => void;
  onEpoch?: (report: EpochReport) => void;
}): Promise<FineTuneResult> {
  const { model, fit, validation, numClasses: k, settings } = input;
  const logitsOf = () => predictLogits(model, validation.pixels, validation.count, { testTimeAugmentation: input.testTimeAugmentation });
  const validationAccuracyBefore = accuracyOf(await logitsOf(), validation.labels, k);
  if (settings.layers === 'head') setHeadOnly(model, true);
  let epoch = 1;
  try {
    const trained = await trainModel({
      model,
      train: fit,
      validation,
      numClasses: k,
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      seed: settings.seed,
      augment: DEFAULT_AUGMENT,
      inferenceModeLayers: settings.inferenceModeLayers,
      // A few epochs at a constant low rate; the first that does not help ends the run.
      lrPatience: settings.epochs + 1,
      stopPatience: 1,
      onBatch: (batch, batches) => input.onBatch?.(epoch, batch, batches),
      onEpoch: (report) => {
        input.onEpoch?.(report);
        epoch = report.epoch + 1;
      },
    });
    const logits = await logitsOf();
    const temperature = fitTemperature(logits, validation.labels, k);
    return {
      history: trained.history,
      bestEpoch: trained.bestEpoch,
      seconds: trained.seconds,
      imagesPerSecond: trained.imagesPerSecond,
      temperature,
      validationAccuracyBefore,
      validationAccuracy: accuracyOf(logits, validation.labels, k),
      validationLoss: trained.history.find((h) => h.epoch === trained.bestEpoch)?.valLoss ?? 0,
      validationEce: expectedCalibrationError({ probs: softmaxRows(logits, k, temperature), labels: validation.labels, k }).ece,
      validationEceUncalibrated: expectedCalibrationError({ probs: softmaxRows(logits, k, 1), labels: validation.labels, k }).ece,
    };
  } finally {
    // Saved topologies say every layer is trainable: the next fine-tune starts from a clean model.
    if (settings.layers === 'head') setHeadOnly(model, false);
  }
}
