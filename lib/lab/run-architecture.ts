import * as tf from '@tensorflow/tfjs';
import { fitTemperature, softmaxRows } from '@/lib/ml/calibration';
import { computeEvaluation, expectedCalibrationError, type Evaluation } from '@/lib/ml/metrics';
import { saveModel } from '@/lib/ml/model-store';
import { predictLogits } from '@/lib/ml/predict';
import { trainModel, type LabelledImages, type LearningRateSchedule, type SelectionMetric } from '@/lib/ml/train';
import { DEFAULT_AUGMENT, type AugmentOptions } from '@/lib/ml/model-input';
import { isRegistrableArchitecture, type LabArchitecture } from './architectures';
import { createLabNetwork } from './networks';
import { predictForest, trainForest } from './forest';

/** One labelled data set cut three ways: fit on `train`, early stopping and temperature on `validation`, figures on `test`. */
export interface LabDataset {
  train: LabelledImages;
  validation: LabelledImages;
  test: LabelledImages;
  classNames: string[];
  /** Where the images came from, for the report. */
  source: string;
}

export interface LabSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Augment while fitting the networks (lib/ml/model-input), with `augmentation` or else the clothing preset. */
  augment: boolean;
  augmentation?: AugmentOptions;
  /** Trees of the random forest. */
  trees: number;
  /** The networks' learning-rate schedule (lib/ml/train): halving on a plateau, or cosine down to 0 over `epochs`. */
  schedule: LearningRateSchedule;
  /**
   * The epoch whose weights a network keeps: the lab compares accuracy, so by default the one
   * with the best validation accuracy (the validation split chooses, never the test split).
   */
  selectBy: SelectionMetric;
  /** Threads that share each training step (lib/ml/train-replicas); 1 in the worker, one per core for the CLI. */
  replicas: number;
}

export const DEFAULT_LAB_SETTINGS: LabSettings = {
  epochs: 10,
  batchSize: 128,
  learningRate: 1e-3,
  seed: 42,
  augment: false,
  trees: 100,
  schedule: 'plateau',
  selectBy: 'accuracy',
  replicas: 1,
};

/** The error budget of the table's coverage column: the share auto-accepted at <= 1% error. */
export const LAB_ERROR_BUDGET = 0.01;

export interface LabProgress {
  arch: LabArchitecture;
  phase: 'training' | 'evaluating';
  /** Epochs for a network, trees for the forest. */
  step: number;
  steps: number;
  batch?: number;
  batches?: number;
  valAccuracy?: number;
}

/** One row of the comparison: the table's columns, and the per-class report and confusion behind them. */
export interface LabResult {
  arch: LabArchitecture;
  accuracy: number;
  macroF1: number;
  /** Expected calibration error on the test set (networks: after temperature scaling fitted on validation). */
  ece: number;
  /** Trainable weights of a network; split and leaf nodes of the forest. */
  params: number;
  trainSeconds: number;
  /** Test images scored per second, one thread. */
  imagesPerSecond: number;
  /** Share of test items one confidence threshold auto-accepts at <= 1% error among them. */
  coverageAt1PctError: number;
  thresholdAt1PctError: number | null;
  temperature: number;
  epochsRun: number;
  bestEpoch: number;
  evaluation: Pick<Evaluation, 'n' | 'perClass' | 'macroAvg' | 'confusion' | 'coverageAtError'>;
  /** Predicted class and confidence of every test item, in test order (the prediction grid). */
  predicted: number[];
  confidence: number[];
}

function resultOf(input: {
  arch: LabArchitecture;
  probs: Float32Array;
  data: LabDataset;
  params: number;
  trainSeconds: number;
  scoreSeconds: number;
  temperature: number;
  epochsRun: number;
  bestEpoch: number;
}): LabResult {
  const { probs, data } = input;
  const k = data.classNames.length;
  const evaluation = computeEvaluation({ probs, labels: data.test.labels, classNames: data.classNames });
  const atBudget = evaluation.coverageAtError.find((point) => point.maxError === LAB_ERROR_BUDGET);
  const predicted: number[] = [];
  const confidence: number[] = [];
  for (let i = 0; i < data.test.count; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
    predicted.push(best);
    confidence.push(Number(probs[i * k + best]!.toFixed(4)));
  }
  return {
    arch: input.arch,
    accuracy: evaluation.accuracy,
    macroF1: evaluation.macroF1,
    ece: evaluation.ece,
    params: input.params,
    trainSeconds: input.trainSeconds,
    imagesPerSecond: input.scoreSeconds > 0 ? data.test.count / input.scoreSeconds : 0,
    coverageAt1PctError: atBudget?.coverage ?? 0,
    thresholdAt1PctError: atBudget?.threshold ?? null,
    temperature: input.temperature,
    epochsRun: input.epochsRun,
    bestEpoch: input.bestEpoch,
    evaluation: {
      n: evaluation.n,
      perClass: evaluation.perClass,
      macroAvg: evaluation.macroAvg,
      confusion: evaluation.confusion,
      coverageAtError: evaluation.coverageAtError,
    },
    predicted,
    confidence,
  };
}

const seconds = (since: number) => (performance.now() - since) / 1000;

/**
 * Trains `arch` on `data.train` and measures it on `data.test`. A network is fitted with
 * Loupe's trainer (Adam, learning rate halved on a validation plateau or on a cosine, early
 * stopping with the best epoch's weights by `settings.selectBy`) and calibrated by a temperature
 * fitted on validation; with `saveTo`, a network Loupe can serve is saved there (a model folder
 * that can become a candidate).
 */
export async function runLabArchitecture(input: {
  arch: LabArchitecture;
  data: LabDataset;
  settings: LabSettings;
  saveTo?: string;
  onProgress?: (progress: LabProgress) => void;
}): Promise<LabResult> {
  const { arch, data, settings, onProgress } = input;
  const k = data.classNames.length;
  if (arch === 'forest') {
    const started = performance.now();
    const forest = await trainForest({
      ...data.train,
      numClasses: k,
      options: { trees: settings.trees, seed: settings.seed },
      onTree: (done, total) => onProgress?.({ arch, phase: 'training', step: done, steps: total }),
    });
    const trainSeconds = seconds(started);
    onProgress?.({ arch, phase: 'evaluating', step: settings.trees, steps: settings.trees });
    const scoring = performance.now();
    const probs = predictForest(forest, data.test.pixels, data.test.count);
    return resultOf({
      arch,
      probs,
      data,
      params: forest.nodes,
      trainSeconds,
      scoreSeconds: seconds(scoring),
      temperature: 1,
      epochsRun: 0,
      bestEpoch: 0,
    });
  }

  const model = createLabNetwork(arch, k, settings.seed);
  try {
    const started = performance.now();
    let trainedEpochs = 0;
    const trained = await trainModel({
      model,
      train: data.train,
      validation: data.validation,
      numClasses: k,
      epochs: settings.epochs,
      batchSize: Math.min(settings.batchSize, data.train.count),
      learningRate: settings.learningRate,
      seed: settings.seed,
      augment: settings.augment ? (settings.augmentation ?? DEFAULT_AUGMENT) : null,
      schedule: settings.schedule,
      selectBy: settings.selectBy,
      replicas: settings.replicas,
      onBatch: (batch, batches) =>
        onProgress?.({
          arch,
          phase: 'training',
          step: Math.min(trainedEpochs + 1, settings.epochs),
          steps: settings.epochs,
          batch,
          batches,
        }),
      onEpoch: (report) => {
        trainedEpochs = report.epoch;
        onProgress?.({
          arch,
          phase: 'training',
          step: report.epoch,
          steps: settings.epochs,
          valAccuracy: report.valAccuracy,
        });
      },
    });
    const trainSeconds = seconds(started);
    onProgress?.({ arch, phase: 'evaluating', step: trained.history.length, steps: settings.epochs });
    const validationLogits = await predictLogits(model, data.validation.pixels, data.validation.count);
    const temperature = fitTemperature(validationLogits, data.validation.labels, k);
    const scoring = performance.now();
    const logits = await predictLogits(model, data.test.pixels, data.test.count);
    const scoreSeconds = seconds(scoring);
    const result = resultOf({
      arch,
      probs: softmaxRows(logits, k, temperature),
      data,
      params: model.countParams(),
      trainSeconds,
      scoreSeconds,
      temperature,
      epochsRun: trained.history.length,
      bestEpoch: trained.bestEpoch,
    });
    if (input.saveTo && isRegistrableArchitecture(arch)) {
      const best = trained.history.find((h) => h.epoch === trained.bestEpoch);
      await saveModel(
        input.saveTo,
        model,
        {
          arch,
          classNames: data.classNames,
          temperature,
          params: result.params,
          seed: settings.seed,
          augment: settings.augment,
          augmentation: settings.augmentation ?? DEFAULT_AUGMENT,
          schedule: settings.schedule,
          backend: tf.getBackend(),
          trainedAt: new Date().toISOString(),
          trainingSeconds: trainSeconds,
          epochs: trained.history.length,
          bestEpoch: trained.bestEpoch,
          trainImagesPerSecond: trained.imagesPerSecond,
          dataset: `model lab: ${data.source}`,
          trainCount: data.train.count,
          validationCount: data.validation.count,
          validation: {
            accuracy: best?.valAccuracy ?? 0,
            loss: best?.valLoss ?? 0,
            ece: expectedCalibrationError({
              probs: softmaxRows(validationLogits, k, temperature),
              labels: data.validation.labels,
              k,
            }).ece,
            eceUncalibrated: expectedCalibrationError({
              probs: softmaxRows(validationLogits, k, 1),
              labels: data.validation.labels,
              k,
            }).ece,
          },
          history: trained.history,
        },
        { calibrationImages: data.train },
      );
    }
    return result;
  } finally {
    model.dispose();
  }
}
