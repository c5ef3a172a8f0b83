import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';
import { ARCHITECTURES } from '@/lib/ml/model';
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
  'val-size': z.coerce.number().int().min(100).max(30000).default(5000),
  limit: z.coerce.number().int().min(1).optional(),
  'no-augment': z.boolean().default(false),
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
      'val-size': { type: 'string' },
      limit: { type: 'string' },
      'no-augment': { type: 'boolean' },
      'no-dropout': { type: 'boolean' },
      replicas: { type: 'string' },
      dataset: { type: 'string' },
      finalize: { type: 'boolean' },
      'init-from': { type: 'string' },
    },
  });
  const args = TrainArgs.parse({ ...values, out: values.out ?? `models/${values.arch}-${Date.now()}` });
  const datasetDir = args.dataset ?? getEnv().LOUPE_DATASET_DIR;
  if (args.finalize) {
    // --finalize --out <dir>: redo the post-training choices on validation, no training.
    if (!values.out) throw badInput('--finalize needs --out <model dir>.');
    const meta = await finalizeSavedModel({ dir: args.out, datasetDir });
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
    dropout: !args['no-dropout'],
    replicas: args.replicas,
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
