import fs from 'node:fs';
import path from 'node:path';
import { badInput } from '@/lib/errors';
import { readModelMeta } from '@/lib/ml/model-store';
import { DEFAULT_VALIDATION_SIZE, trainFromDataset } from '@/lib/ml/train-from-dataset';

/** Training images left after the fixed validation split (60,000 - 5,000). */
const TRAINING_PART = 55_000;

/**
 * The simulation's weak starting point: the production architecture trained by the same code
 * as the shipped model, on only `share` of the training part, so retraining has much to add.
 * Cached under `cacheDir` by share, epochs and seed: a second run reuses it.
 */
export async function smallShareBaseModel(input: {
  datasetDir: string;
  cacheDir: string;
  share: number;
  epochs: number;
  seed: number;
  log: (line: string) => void;
}): Promise<string> {
  const limit = Math.max(100, Math.round(input.share * TRAINING_PART));
  const dir = path.join(input.cacheDir, `base-cnn-${limit}-images-${input.epochs}-epochs-seed-${input.seed}`);
  if (fs.existsSync(path.join(dir, 'meta.json'))) {
    const meta = readModelMeta(dir);
    if (meta.trainCount === limit && meta.epochs >= 1) {
      input.log(`base model: ${dir} (cached; validation accuracy ${(meta.validation.accuracy * 100).toFixed(2)}%)`);
      return dir;
    }
  }
  if (
    !fs.existsSync(path.join(input.datasetDir, 'train-images-idx3-ubyte.gz')) &&
    !fs.existsSync(path.join(input.datasetDir, 'train-images-idx3-ubyte'))
  ) {
    throw badInput(
      `the small-share base model trains on the Fashion-MNIST training set, which is not in ${input.datasetDir}: install the Debian package dataset-fashion-mnist, or use --base shipped.`,
    );
  }
  input.log(
    `base model: training cnn on ${limit.toLocaleString('en')} training images for ${input.epochs} epochs (cached for the next run)`,
  );
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const meta = await trainFromDataset({
    arch: 'cnn',
    datasetDir: input.datasetDir,
    out: tmp,
    epochs: input.epochs,
    seed: input.seed,
    batchSize: 64,
    learningRate: 1e-3,
    validationSize: DEFAULT_VALIDATION_SIZE,
    limit,
    augment: true,
    onEpoch: (r) =>
      input.log(
        `base model epoch ${r.epoch}: val_acc ${(r.valAccuracy * 100).toFixed(2)}% (${r.seconds.toFixed(0)} s)`,
      ),
  });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  input.log(`base model: validation accuracy ${(meta.validation.accuracy * 100).toFixed(2)}%`);
  return dir;
}
