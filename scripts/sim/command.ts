import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { readIdxSplit } from '@/lib/formats/idx';
import { badInput } from '@/lib/errors';
import { bundledDatasetDir } from '@/lib/learning/demo-data';
import { initBackend } from '@/lib/ml/backend';
import { loadClassifier } from '@/lib/ml/classifier';
import { argmaxRows } from '@/lib/ml/predict';
import { smallShareBaseModel } from '@/scripts/sim/base-model';
import { renderSimulationHtml } from '@/scripts/sim/chart';
import { prepareFreshLoupe, type Credentials } from '@/scripts/sim/fresh-loupe';
import { launchLoupe } from '@/scripts/sim/launch';
import type { PeakMemory } from '@/scripts/sim/process-memory';
import { runSimulation, type SimStream, type SimulationResult, type ThresholdMode } from '@/scripts/sim/simulate';

const CredentialsArg = z
  .string()
  .regex(/^[^:\s]+@[^:\s]+:.+$/, 'give an account as email:password')
  .transform((value): Credentials => {
    const at = value.indexOf(':');
    return { email: value.slice(0, at), password: value.slice(at + 1) };
  });

/** `npm run simulate` flags, after parseArgs; --quick changes the defaults, never a flag given. */
export const SimulateArgs = z
  .object({
    url: z.url('--url is the address of a running Loupe, e.g. http://localhost:3000').optional(),
    admin: CredentialsArg.optional(),
    reviewer: z.array(CredentialsArg).default([]),
    catalogue: z.string().min(1).optional(),
    reviewers: z.coerce.number().int().min(1, 'at least one reviewer').max(200).optional(),
    items: z.coerce.number().int().min(10).max(10_000).optional(),
    batches: z.coerce.number().int().min(0).max(100).optional(),
    'batch-interval-s': z.coerce.number().min(0).max(3600).optional(),
    'error-rate': z.coerce
      .number()
      .min(0, 'an error rate is between 0 and 1')
      .max(1, 'an error rate is between 0 and 1')
      .default(0.02),
    'think-ms': z.coerce.number().int().min(0).max(60_000).optional(),
    base: z.enum(['shipped', 'small'], { error: '--base is shipped or small' }).default('shipped'),
    'base-share': z.coerce.number().gt(0).max(1).default(0.05),
    'base-epochs': z.coerce.number().int().min(1).max(100).default(8),
    threshold: z.coerce
      .number()
      .gt(0, 'a threshold is strictly between 0 and 1')
      .lt(1, 'a threshold is strictly between 0 and 1')
      .optional(),
    target: z.coerce
      .number()
      .gt(0, 'a target accuracy is above 0 and at most 1')
      .max(1, 'a target accuracy is above 0 and at most 1')
      .optional(),
    'max-decisions': z.coerce.number().int().min(1).optional(),
    'max-minutes': z.coerce
      .number()
      .gt(0)
      .max(24 * 60)
      .optional(),
    'sample-every-s': z.coerce.number().min(0.5).max(600).optional(),
    'min-new-labels': z.coerce.number().int().min(1).max(1_000_000).default(200),
    'retrain-epochs': z.coerce.number().int().min(1).max(100).optional(),
    seed: z.coerce.number().int().default(1),
    out: z.string().min(1).optional(),
    'build-dir': z.string().min(1).default('.next'),
    keep: z.boolean().default(false),
    quick: z.boolean().default(false),
  })
  .refine((a) => a.threshold === undefined || a.target === undefined, {
    error: 'give --threshold or --target, not both',
  })
  .refine((a) => !a.url || (a.admin && a.reviewer.length > 0 && a.catalogue), {
    error:
      'with --url, give --catalogue <slug>, --admin email:password and one --reviewer email:password per simulated reviewer',
  });
export type SimulateArgs = z.infer<typeof SimulateArgs>;

/** Defaults for a full run and for --quick (a smoke test: seconds, no retraining). */
const FULL = {
  items: 10_000,
  batches: 5,
  batchIntervalS: 30,
  reviewers: 4,
  thinkMs: 300,
  sampleEveryS: 5,
  maxMinutes: 30,
};
const QUICK = {
  items: 300,
  batches: 2,
  batchIntervalS: 2,
  reviewers: 3,
  thinkMs: 20,
  sampleEveryS: 2,
  maxMinutes: 3,
  maxDecisions: 40,
};

export interface SimulateReport extends SimulationResult {
  mode: 'fresh' | 'url';
  baseModel: string | null;
  /** Peak resident memory of the Loupe this command started (fresh mode). */
  processes: { web: PeakMemory | null; worker: PeakMemory | null } | null;
  files: { json: string; chart: string };
}

export async function runSimulateCommand(
  args: SimulateArgs,
  options: {
    root: string;
    datasetDir: string;
    shippedModelDir: string;
    log: (line: string) => void;
    ensureBuild: (distDir: string) => void;
  },
): Promise<SimulateReport> {
  const { log } = options;
  const sizes = args.quick ? QUICK : { ...FULL, maxDecisions: undefined };
  const outDir = path.resolve(
    args.out ?? path.join(options.root, 'data', 'sim', new Date().toISOString().replace(/[:.]/g, '-')),
  );
  fs.mkdirSync(outDir, { recursive: true });
  const stream = loadStream(options.datasetDir, args.items ?? sizes.items);
  const threshold: ThresholdMode =
    args.target !== undefined
      ? { mode: 'target', targetAccuracy: args.target }
      : args.threshold !== undefined
        ? { mode: 'fixed', threshold: args.threshold }
        : { mode: 'keep' };
  const common = {
    stream,
    batches: args.batches ?? sizes.batches,
    batchIntervalMs: (args['batch-interval-s'] ?? sizes.batchIntervalS) * 1000,
    errorRate: args['error-rate'],
    thinkMs: args['think-ms'] ?? sizes.thinkMs,
    threshold,
    maxDecisions: args['max-decisions'] ?? sizes.maxDecisions,
    maxDurationMs: (args['max-minutes'] ?? sizes.maxMinutes) * 60_000,
    sampleEveryMs: (args['sample-every-s'] ?? sizes.sampleEveryS) * 1000,
    seed: args.seed,
    log,
  };

  if (args.url) {
    const result = await runSimulation({
      ...common,
      baseUrl: args.url.replace(/\/$/, ''),
      catalogue: args.catalogue!,
      admin: args.admin!,
      reviewers: args.reviewer,
    });
    return writeReport({ ...result, mode: 'url', baseModel: null, processes: null }, outDir);
  }

  const baseModelDir =
    args.base === 'small'
      ? await smallShareBaseModel({
          datasetDir: options.datasetDir,
          cacheDir: path.join(options.root, 'data', 'sim'),
          share: args['base-share'],
          epochs: args['base-epochs'],
          seed: args.seed,
          log,
        })
      : options.shippedModelDir;
  const baseModelPredictions = await predictStream(baseModelDir, stream);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-sim-'));
  try {
    const fresh = await prepareFreshLoupe({
      dir: workDir,
      baseModelDir,
      reviewerCount: args.reviewers ?? sizes.reviewers,
      minNewLabels: args['min-new-labels'],
    });
    log(
      `fresh database ${fresh.dbPath}: catalogue "${fresh.catalogue}" with its 5,000-image holdout, base model ${baseModelDir}, ${fresh.reviewers.length} reviewer accounts`,
    );
    options.ensureBuild(args['build-dir']);
    const loupe = await launchLoupe({
      root: options.root,
      distDir: args['build-dir'],
      dbPath: fresh.dbPath,
      modelsDir: fresh.modelsDir,
      env: {
        // The worker looks for work every second, so a chunk is scored soon after it lands.
        LOUPE_WORKER_POLL_MS: '1000',
        ...(args['retrain-epochs'] ? { LOUPE_RETRAIN_EPOCHS: String(args['retrain-epochs']) } : {}),
      },
      log,
    });
    const outcome = await runSimulation({
      ...common,
      baseUrl: loupe.baseUrl,
      catalogue: fresh.catalogue,
      admin: fresh.admin,
      reviewers: fresh.reviewers,
      baseModelPredictions,
    }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    const processes = await loupe.stop();
    if ('error' in outcome) throw outcome.error;
    const { result } = outcome;
    return writeReport(
      { ...result, mode: 'fresh', baseModel: path.relative(options.root, baseModelDir) || baseModelDir, processes },
      outDir,
    );
  } finally {
    if (args.keep) log(`kept the simulation's database in ${workDir}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function writeReport(report: Omit<SimulateReport, 'files'>, outDir: string): SimulateReport {
  const files = { json: path.join(outDir, 'simulation.json'), chart: path.join(outDir, 'simulation.html') };
  const full: SimulateReport = { ...report, files };
  fs.writeFileSync(files.json, `${JSON.stringify(full, null, 2)}\n`);
  fs.writeFileSync(files.chart, renderSimulationHtml(full));
  return full;
}

/** The first `count` Fashion-MNIST test images and their labels (Debian package, else the bundled copy). */
function loadStream(datasetDir: string, count: number): SimStream {
  const dir = [datasetDir, bundledDatasetDir()].find(
    (d) =>
      fs.existsSync(path.join(d, 't10k-labels-idx1-ubyte.gz')) || fs.existsSync(path.join(d, 't10k-labels-idx1-ubyte')),
  );
  if (!dir) throw badInput(`the Fashion-MNIST test set is neither in ${datasetDir} nor in datasets/fashion-mnist/.`);
  const { images, labels } = readIdxSplit(dir, 't10k');
  const n = Math.min(count, images.count);
  return {
    name: 'fashion-mnist t10k',
    pixels: images.pixels.subarray(0, n * 784),
    labels: labels.subarray(0, n),
    count: n,
  };
}

async function predictStream(modelDir: string, stream: SimStream): Promise<Uint8Array> {
  await initBackend();
  const classifier = await loadClassifier(modelDir);
  try {
    return argmaxRows(await classifier.predictLogits(stream.pixels, stream.count), classifier.meta.classNames.length);
  } finally {
    classifier.dispose();
  }
}
