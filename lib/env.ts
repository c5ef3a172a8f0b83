import path from 'node:path';
import { z } from 'zod';

/** Process environment, validated once. Every setting has a default that works on a fresh clone. */
const EnvSchema = z.object({
  LOUPE_DB: z
    .string()
    .min(1)
    .default(path.join(process.cwd(), 'data', 'loupe.db')),
  LOUPE_MODEL_DIR: z
    .string()
    .min(1)
    .default(path.join(process.cwd(), 'models', 'production')),
  LOUPE_DATASET_DIR: z.string().min(1).default('/usr/share/datasets/fashion-mnist'),
  /** Where fine-tuned model versions are written; unset: `models/` beside the database file. */
  LOUPE_MODELS_DIR: z.string().min(1).optional(),
  /** Force a TensorFlow.js backend: tfjs-node, wasm or cpu. Unset: the fastest that loads. */
  LOUPE_TF_BACKEND: z.enum(['tfjs-node', 'wasm', 'cpu']).optional(),
  /** Threads for the wasm backend (1 disables the threaded build). */
  LOUPE_WASM_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** How long a worker holds a job without renewing it; a dead worker's job is retried after this. */
  LOUPE_JOB_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(60 * 60_000)
    .default(2 * 60_000),
  /** How often an idle worker looks for work (and schedules scoring and retraining). */
  LOUPE_WORKER_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** Epochs of each fine-tuning run; unset: the learning module's default. */
  LOUPE_RETRAIN_EPOCHS: z.coerce.number().int().min(1).max(100).optional(),
});

export type Env = z.infer<typeof EnvSchema>;

let cached: Env | undefined;

export function getEnv(): Env {
  if (!cached) {
    const parsed = EnvSchema.safeParse(process.env);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`Invalid environment: ${issue?.path.join('.')}: ${issue?.message}`);
    }
    cached = parsed.data;
  }
  return cached;
}
