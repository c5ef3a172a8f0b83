/**
 * npm run cross-validate -- --data mnist-digits --folds 4 [recipe options as npm run train]
 *   [--report FILE] [--final-out DIR [--final-min-accuracy X]] [--state-dir DIR [--max-folds N]]
 *
 * K-fold cross-validation of one training recipe on every labelled image that is not test or
 * holdout (digits: train + validation, 8,000; Fashion-MNIST: its 60,000 training images, or the
 * first --limit of its fixed shuffle). Prints one JSON object: the pooled out-of-fold accuracy
 * with its standard error, each fold's, the accuracy after each epoch, and the temperature fitted
 * on the out-of-fold logits. --final-out then trains one model by the same recipe on all of those
 * images, keeps its last epoch and gives it that temperature; with --final-min-accuracy, only
 * when the pooled accuracy reaches it (a rule written before the run, applied by the command).
 *
 * --state-dir keeps each finished fold on disk: the same command run again goes on from the
 * first missing fold, so a run longer than a session (--max-folds N: at most N new folds this
 * time) or one that was interrupted loses at most the fold it was training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { readIdxSplit } from '@/lib/formats/idx';
import { MNIST_DIGIT_CLASSES, readDigitsSplits } from '@/lib/learning/digits-data';
import { concatImages } from '@/lib/learning/image-sets';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { FOLD_SEED, poolFolds, trainFolds } from '@/lib/ml/cross-validate';
import { openFoldStore, runIdentity } from '@/lib/ml/fold-store';
import { createRng, shuffledIndices } from '@/lib/ml/random';
import { selectImages, SPLIT_SEED, trainFromDataset } from '@/lib/ml/train-from-dataset';
import type { LabelledImages } from '@/lib/ml/train';
import { runCli } from '@/scripts/cli';
import { RECIPE_OPTIONS, RecipeArgs, recipeAugmentation, recipePreset } from '@/scripts/lib/recipe-args';

const CrossValidateArgs = RecipeArgs.extend({
  folds: z.coerce.number().int().min(2).max(20).default(4),
  'fold-seed': z.coerce.number().int().default(FOLD_SEED),
  limit: z.coerce.number().int().min(20).optional(),
  report: z.string().min(1).optional(),
  'final-out': z.string().min(1).optional(),
  'final-min-accuracy': z.coerce.number().min(0).max(1).optional(),
  'state-dir': z.string().min(1).optional(),
  'max-folds': z.coerce.number().int().min(1).optional(),
})
  .refine((args) => args.schedule !== 'plateau', {
    // The plateau rule halves the rate and stops on validation loss; a fold keeps exactly its
    // epochs, so under it the rate would never move and the recipe measured would not be the one named.
    message:
      'cross-validation trains each fold for exactly --epochs, so the plateau schedule (which adapts to validation loss) cannot run: name --schedule cosine (with --min-lr equal to --lr for a constant rate).',
    path: ['schedule'],
  })
  .refine((args) => args['max-folds'] === undefined || args['state-dir'] !== undefined, {
    message: 'a run of part of the folds keeps them for the next run: name --state-dir DIR with --max-folds.',
    path: ['max-folds'],
  })
  .refine((args) => args['final-min-accuracy'] === undefined || args['final-out'] !== undefined, {
    message: '--final-min-accuracy decides whether the final model is trained: name --final-out DIR with it.',
    path: ['final-min-accuracy'],
  });

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      ...RECIPE_OPTIONS,
      folds: { type: 'string' },
      'fold-seed': { type: 'string' },
      limit: { type: 'string' },
      report: { type: 'string' },
      'final-out': { type: 'string' },
      'final-min-accuracy': { type: 'string' },
      'state-dir': { type: 'string' },
      'max-folds': { type: 'string' },
    },
  });
  const args = CrossValidateArgs.parse(values);
  const datasetDir = args.dataset ?? getEnv().LOUPE_DATASET_DIR;
  const { data, classNames, description } =
    args.data === 'mnist-digits' ? digitsData(args.limit) : fashionData(datasetDir, args.limit);
  const recipe = {
    arch: args.arch,
    initFrom: args['init-from'],
    epochs: args.epochs,
    seed: args.seed,
    batchSize: args['batch-size'],
    learningRate: args.lr,
    schedule: args.schedule,
    minLearningRate: args['min-lr'],
    emaDecay: args.ema,
    augment: recipeAugmentation(args),
    dropout: !args['no-dropout'],
    replicas: args.replicas,
    // Absent for tfjs, so that a state folder written before engines existed still matches.
    ...(args.engine !== 'tfjs' ? { engine: args.engine } : {}),
  };
  const store = args['state-dir']
    ? openFoldStore(
        args['state-dir'],
        runIdentity(
          { data: description, count: data.count, folds: args.folds, foldSeed: args['fold-seed'], recipe },
          data,
          recipe.initFrom,
        ),
      )
    : null;
  if (store && store.finished.length > 0)
    console.error(
      `${args['state-dir']}: folds ${store.finished.map((f) => f.fold).join(', ')} finished before, not trained again`,
    );
  const started = performance.now();
  const { folds, outcomes } = await trainFolds({
    data,
    numClasses: classNames.length,
    folds: args.folds,
    foldSeed: args['fold-seed'],
    recipe,
    finished: store?.finished,
    maxNewFolds: args['max-folds'],
    onFold: (outcome) => store?.save(outcome),
    onEpoch: (fold, r) =>
      console.error(
        `fold ${fold}/${args.folds} epoch ${r.epoch}/${args.epochs}: loss ${r.loss.toFixed(4)}  held-out loss ${r.valLoss.toFixed(4)}  acc ${(r.valAccuracy * 100).toFixed(2)}%  lr ${r.learningRate.toExponential(1)}  ${r.seconds.toFixed(0)}s`,
      ),
  });
  if (outcomes.length < args.folds) {
    const count = outcomes.reduce((sum, o) => sum + o.heldOutCount, 0);
    const correct = outcomes.reduce((sum, o) => sum + o.accuracy * o.heldOutCount, 0);
    console.error(
      `${outcomes.length} of ${args.folds} folds finished, kept in ${args['state-dir']}: run the same command again to train the rest.`,
    );
    console.log(
      JSON.stringify({
        complete: false,
        data: description,
        folds: args.folds,
        foldsFinished: outcomes.map((o) => o.fold),
        // Over the finished folds only: not the recipe's estimate until every fold is in.
        accuracySoFar: correct / count,
        countSoFar: count,
        perFold: outcomes.map(({ fold, trainCount, heldOutCount, accuracy }) => ({
          fold,
          trainCount,
          heldOutCount,
          accuracy,
        })),
        seconds: Math.round((performance.now() - started) / 1000),
      }),
    );
    return;
  }
  const result = poolFolds(data, classNames.length, folds, outcomes);
  const { logits: _logits, ...summary } = result;
  const report = {
    data: description,
    complete: true,
    count: data.count,
    folds: args.folds,
    foldSeed: args['fold-seed'],
    // The augmentation's settings (null: none), so a report says which of the presets ran.
    recipe,
    accuracy: summary.accuracy,
    standardError: summary.standardError,
    loss: summary.loss,
    accuracyByEpoch: summary.accuracyByEpoch,
    perFold: summary.folds.map((f) => ({
      fold: f.fold,
      trainCount: f.trainCount,
      heldOutCount: f.heldOutCount,
      accuracy: f.accuracy,
      history: f.history,
    })),
    temperature: summary.temperature,
    ece: summary.ece,
    eceUncalibrated: summary.eceUncalibrated,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  if (args.report) {
    fs.mkdirSync(path.dirname(path.resolve(args.report)), { recursive: true });
    fs.writeFileSync(args.report, `${JSON.stringify(report, null, 2)}\n`);
  }
  const minimum = args['final-min-accuracy'];
  const trainFinal = args['final-out'] !== undefined && (minimum === undefined || result.accuracy >= minimum);
  if (args['final-out'] && !trainFinal)
    console.error(
      `pooled accuracy ${(result.accuracy * 100).toFixed(2)}% is below --final-min-accuracy ${(minimum! * 100).toFixed(2)}%: the final model is not trained.`,
    );
  const final = trainFinal
    ? await trainFromDataset({
        ...recipe,
        augment: recipe.augment !== null,
        augmentation: recipePreset(args),
        datasetDir,
        out: args['final-out']!,
        validationSize: 0,
        // Every image trains; the figures the run prints on them are a fit, not an estimate.
        data: { train: data, validation: data, classNames, description: `${description}, all of it` },
        keepLastEpoch: true,
        temperature: result.temperature,
        // Its validation figures are the recipe's out-of-fold ones: it trained on every image.
        outOfFold: {
          accuracy: result.accuracy,
          loss: result.loss,
          ece: result.ece,
          eceUncalibrated: result.eceUncalibrated,
          count: result.count,
        },
        onEpoch: (r) =>
          console.error(
            `final epoch ${r.epoch}/${args.epochs}: loss ${r.loss.toFixed(4)}  (seen) acc ${(r.valAccuracy * 100).toFixed(2)}%  ${r.seconds.toFixed(0)}s`,
          ),
      })
    : null;
  const { perFold, ...headline } = report;
  console.log(
    JSON.stringify({
      ...headline,
      perFold: perFold.map(({ history: _history, ...f }) => f),
      ...(final && { finalOut: args['final-out'], finalTrainingSeconds: Math.round(final.trainingSeconds) }),
    }),
  );
});

function digitsData(limit?: number) {
  const splits = readDigitsSplits();
  return {
    data: firstOfShuffle(concatImages([splits.train, splits.validation]), limit),
    classNames: MNIST_DIGIT_CLASSES,
    description: 'mnist-digits train + validation splits (npm mnist 1.1.0)',
  };
}

function fashionData(datasetDir: string, limit?: number) {
  const { images, labels } = readIdxSplit(datasetDir, 'train');
  return {
    data: firstOfShuffle({ pixels: images.pixels, labels, count: images.count }, limit),
    classNames: FASHION_MNIST_CLASSES,
    description: `fashion-mnist train (${datasetDir})`,
  };
}

/** All the images, or the first `limit` of one fixed shuffle (every class, not the first ones). */
function firstOfShuffle(all: LabelledImages, limit?: number): LabelledImages {
  if (!limit || limit >= all.count) return all;
  return selectImages(all.pixels, all.labels, shuffledIndices(all.count, createRng(SPLIT_SEED)).subarray(0, limit));
}
