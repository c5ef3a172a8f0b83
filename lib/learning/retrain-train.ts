import { randomBytes } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import type { ModelVersion } from '@/db/schema';
import { AppError } from '@/lib/errors';
import type { BackendName } from '@/lib/ml/backend';
import { saveModel, type ModelMeta } from '@/lib/ml/model-store';
import { modelAugmentation } from './augmentation';
import { fineTune, type FineTuneResult, type FineTuneSettings } from './fine-tune';
import type { ReportProgress } from './retrain-options';
import type { PreparedRetrain } from './retrain-prepare';

/** A candidate's folder name: the parent's architecture and id, the time and a few random bytes. */
export function candidateName(arch: string, parent: ModelVersion): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${arch}-ft${parent.id}-${stamp}-${randomBytes(2).toString('hex')}`;
}

interface CandidateModel {
  /** The active model, loaded: trained in place; the caller disposes of it. */
  model: tf.LayersModel;
  parentMeta: ModelMeta;
  prepared: PreparedRetrain;
  settings: FineTuneSettings;
}

/**
 * Step 2 of a retrain: fine-tunes the loaded active model on the prepared pool and
 * recalibrates it, reporting batches and epochs.
 */
export async function trainCandidate(input: CandidateModel & { progress: ReportProgress }): Promise<FineTuneResult> {
  const { model, parentMeta, settings, progress } = input;
  const { parent, k, human, replay, fit, validation } = input.prepared;
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
  return fineTune({
    model,
    fit,
    validation,
    numClasses: k,
    testTimeAugmentation: parentMeta.testTimeAugmentation,
    augment: modelAugmentation(parentMeta),
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
}

/** Writes the trained candidate as the folder `dir` (staged, then renamed: complete or absent). */
export async function saveCandidate(
  input: CandidateModel & { tuned: FineTuneResult; backend: BackendName; dir: string },
): Promise<void> {
  const { model, parentMeta, settings, tuned } = input;
  const { catalogue, parent, human, replay, fit, validation } = input.prepared;
  await saveModel(
    input.dir,
    model,
    {
      arch: parentMeta.arch,
      classNames: [...catalogue.classNames],
      temperature: tuned.temperature,
      testTimeAugmentation: parentMeta.testTimeAugmentation,
      augmentation: modelAugmentation(parentMeta),
      params: model.countParams(),
      seed: settings.seed,
      initFrom: parent.weightsPath,
      backend: input.backend,
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
    },
    { calibrationImages: fit },
  );
}
