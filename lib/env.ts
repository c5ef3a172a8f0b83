import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { describeZodError } from './validate';

/** Process environment, validated once. Every setting has a default that works on a fresh clone. */
const EnvSchema = z.object({
  LOUPE_DB: z
    .string()
    .min(1)
    .default(path.join(process.cwd(), 'data', 'loupe.db')),
  /**
   * A PostgreSQL server to use instead of the SQLite file (issue 20, in progress: docs/deployment.md
   * says what runs on it so far): postgres://user:password@host:port/database. DATABASE_URL is
   * read when this is unset.
   */
  LOUPE_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL starts with postgres:// or postgresql://')
    .optional(),
  /** Connections each process keeps open to PostgreSQL at most. */
  LOUPE_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  LOUPE_MODEL_DIR: z
    .string()
    .min(1)
    .default(path.join(process.cwd(), 'models', 'production')),
  LOUPE_DATASET_DIR: z.string().min(1).default('/usr/share/datasets/fashion-mnist'),
  /** Where fine-tuned model versions are written; unset: `models/` beside the database file. */
  LOUPE_MODELS_DIR: z.string().min(1).optional(),
  /** Force a TensorFlow.js backend: tfjs-node, wasm or cpu. Unset: the fastest that loads. */
  LOUPE_TF_BACKEND: z.enum(['tfjs-node', 'wasm', 'cpu']).optional(),
  /** Force the scorer: onnx (ONNX Runtime) or tfjs. Unset: ONNX Runtime when it loads, else tfjs. */
  LOUPE_SCORER: z.enum(['onnx', 'tfjs']).optional(),
  /** Threads one ONNX Runtime session computes with; unset: every core. */
  LOUPE_ONNX_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * ONNX Runtime's precision: fp32 (the float32 export, TensorFlow.js's logits) or int8 (the
   * quantized export, about 2.5x faster on CPUs with int8 dot products; versions without an
   * int8 calibration stay fp32). See docs/ml.md, "Int8 scoring".
   */
  LOUPE_ONNX_PRECISION: z.enum(['fp32', 'int8']).default('fp32'),
  /** Threads for the wasm backend (1 disables the threaded build). */
  LOUPE_WASM_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /**
   * How long a worker holds a job without renewing it (it renews every 5 s while the job runs);
   * a dead worker's job is taken over after this.
   */
  LOUPE_JOB_LEASE_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(60 * 60_000)
    .default(30_000),
  /** How often an idle worker looks for work (and schedules scoring and retraining). */
  LOUPE_WORKER_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  /** Epochs of each fine-tuning run; unset: the learning module's default. */
  LOUPE_RETRAIN_EPOCHS: z.coerce.number().int().min(1).max(100).optional(),
  /**
   * How long the worker lets a job in hand finish after SIGTERM before giving it back. At most
   * 10 s: npm start kills the worker at 15 s, and a job in hand is promised back within 10 s.
   */
  LOUPE_STOP_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(8_000),
  /**
   * Largest file an import may decompress to (bytes), web upload or `npm run import` alike:
   * a gzip bomb is refused at the first byte past it. 512 MiB holds 680,000 28x28 images.
   */
  LOUPE_IMPORT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(512 * 1024 * 1024),
  /** Items one web upload may add (Fashion-MNIST's train split is 60,000); the CLI has no cap. */
  LOUPE_UPLOAD_MAX_ITEMS: z.coerce.number().int().min(1).default(70_000),
  /**
   * Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR ranges, e.g.
   * `127.0.0.1,10.0.0.0/8`). Unset: none, and the sign-in limits key on the socket's address.
   */
  LOUPE_TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = (value ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0);
      for (const entry of entries) {
        if (!isAddressOrRange(entry)) {
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range` });
          return z.NEVER;
        }
      }
      return entries;
    }),
  /**
   * `next`: the production server leaves the review queue's hot routes to Next too, instead of
   * answering them itself for fresh sessions (lib/http/node-json-routes.ts). For comparing the
   * two (the queue benchmark does) and for ruling the direct path out when chasing a problem.
   */
  LOUPE_QUEUE_ROUTES: z.enum(['direct', 'next']).default('direct'),
  /**
   * The production web server's V8 old-space limit in MB (--max-old-space-size). Set, V8 also
   * collects sooner: 155 MB resident under 200 paced reviewers at 192 against 263 MB unset, and
   * a 63 MB CSV upload imported at 128 (docs/operations.md, "Web server memory").
   */
  LOUPE_WEB_HEAP_MB: z.coerce.number().int().min(96).max(16_384).default(192),
});

function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

export type Env = z.infer<typeof EnvSchema>;

let cached: Env | undefined;

export function getEnv(): Env {
  if (!cached) {
    const parsed = EnvSchema.safeParse({
      ...process.env,
      LOUPE_DATABASE_URL: process.env.LOUPE_DATABASE_URL || process.env.DATABASE_URL || undefined,
    });
    if (!parsed.success) throw new Error(`Invalid environment: ${describeZodError(parsed.error)}`);
    cached = parsed.data;
  }
  return cached;
}
