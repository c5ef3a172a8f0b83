import type * as tf from '@tensorflow/tfjs';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import type { AugmentOptions } from '@/lib/ml/model-input';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { accuracyOfLogits, predictLogits, type TestTimeAugmentation } from '@/lib/ml/predict';
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
  /**
   * The active model's temperature times how much fine-tuning changed the fit on the
   * validation slice: `parentTemperature * fittedAfter / fittedBefore`; `fittedAfter` alone
   * when the two fits differ by more than a factor of 2.
   */
  temperature: number;
  /** Temperatures fitted on the validation slice to the active model and to the candidate. */
  fittedBefore: number;
  fittedAfter: number;
  validationAccuracyBefore: number;
  validationAccuracy: number;
  validationLoss: number;
  validationEce: number;
  validationEceUncalibrated: number;
}

/**
 * Beyond this factor between the two fits, the candidate is no longer a nudge of the active
 * model (e.g. it was fine-tuned from an untrained one) and the active model's temperature says
 * nothing about it. On the demo the factor is 0.94-1.0.
 */
const MAX_FIT_RATIO = 2;

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
 * validation loss and keeps the best epoch's weights. Then recalibrates the temperature on the
 * validation slice (held-out data, never the holdout).
 */
export async function fineTune(input: {
  model: tf.LayersModel;
  fit: LabelledImages;
  validation: LabelledImages;
  numClasses: number;
  testTimeAugmentation: TestTimeAugmentation;
  /** The model's own augmentation (lib/learning/augmentation.ts): digits are never mirrored. */
  augment: AugmentOptions;
  /** The active model's calibrated temperature (fitted on data it never trained on). */
  parentTemperature: number;
  settings: FineTuneSettings;
  onBatch?: (epoch: number, batch: number, batches: number) => void;
  onEpoch?: (report: EpochReport) => void;
}): Promise<FineTuneResult> {
  const { model, fit, validation, numClasses: k, settings } = input;
  const logitsOf = () =>
    predictLogits(model, validation.pixels, validation.count, { testTimeAugmentation: input.testTimeAugmentation });
  const logitsBefore = await logitsOf();
  const validationAccuracyBefore = accuracyOfLogits(logitsBefore, validation.labels, k);
  const fittedBefore = fitTemperature(logitsBefore, validation.labels, k);
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
      augment: input.augment,
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
    // The slice is not like the catalogue: its replay images come from the data the active
    // model was trained on (it is overconfident there) and its human labels are the hard items
    // reviewers saw (underconfident). Fitted to both models on the same slice, that bias
    // mostly cancels in the ratio, which carries over how fine-tuning sharpened or softened
    // the logits onto the active model's own, cleanly fitted temperature.
    const fittedAfter = fitTemperature(logits, validation.labels, k);
    const ratio = fittedAfter / fittedBefore;
    const temperature =
      ratio > MAX_FIT_RATIO || ratio < 1 / MAX_FIT_RATIO ? fittedAfter : input.parentTemperature * ratio;
    return {
      history: trained.history,
      bestEpoch: trained.bestEpoch,
      seconds: trained.seconds,
      imagesPerSecond: trained.imagesPerSecond,
      temperature,
      fittedBefore,
      fittedAfter,
      validationAccuracyBefore,
      validationAccuracy: accuracyOfLogits(logits, validation.labels, k),
      validationLoss: trained.history.find((h) => h.epoch === trained.bestEpoch)?.valLoss ?? 0,
      validationEce: expectedCalibrationError({
        probs: softmaxRows(logits, k, temperature),
        labels: validation.labels,
        k,
      }).ece,
      validationEceUncalibrated: expectedCalibrationError({
        probs: softmaxRows(logits, k, 1),
        labels: validation.labels,
        k,
      }).ece,
    };
  } finally {
    // Saved topologies say every layer is trainable: the next fine-tune starts from a clean model.
    if (settings.layers === 'head') setHeadOnly(model, false);
  }
}
