import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BENCH_SECTIONS, runBench } from '@/scripts/bench/run-bench';
import { runLoopBench } from '@/scripts/bench/loop';
import { runImportBench } from '@/scripts/bench/import';
import { getEnv } from '@/lib/env';
import { ARCHITECTURES } from '@/lib/ml/model';
import { ensureWebBuild } from '@/scripts/lib/web-build';
import { runCli } from '@/scripts/cli';

const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)).min(1));

const BenchArgs = z.object({
  only: list(BENCH_SECTIONS).default([...BENCH_SECTIONS]),
  archs: list(ARCHITECTURES).default([...ARCHITECTURES]),
  quick: z.boolean().default(false),
  'train-steps': z.coerce.number().int().min(1).max(400).optional(),
  dataset: z.string().min(1).optional(),
  'build-dir': z.string().min(1).default('.next'),
});

const LoopArgs = z.object({
  corrections: z.coerce.number().int().min(10).max(10_000).default(1000),
  epochs: z.coerce.number().int().min(1).max(50).optional(),
  lr: z.coerce.number().positive().max(1).optional(),
  'batch-size': z.coerce.number().int().min(8).max(1024).optional(),
  keep: z.boolean().default(false),
});

// npm run bench -- [--only train,infer,pytorch,import,catalogue,queue,memory,score] [--quick] [--train-steps N] [--archs mlp,lenet5,cnn] [--dataset DIR] [--build-dir .next]
// npm run bench -- loop [--corrections 1000] [--epochs N] [--lr X] [--batch-size N] [--keep]
// npm run bench -- import [--csv-rows N]   (import's figures alone; also the `import` section above)
// One JSON object on stdout; progress on stderr.
await runCli(async () => {
  if (process.argv[2] === 'import') {
    const { values } = parseArgs({ args: process.argv.slice(3), options: { 'csv-rows': { type: 'string' } } });
    const csvRows = z.coerce
      .number({ error: '--csv-rows is a whole number from 1 to 10000' })
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .parse(values['csv-rows']);
    const report = await runImportBench({ csvRows, log: (line) => console.error(`[bench import] ${line}`) });
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  if (process.argv[2] === 'loop') {
    const { values } = parseArgs({
      args: process.argv.slice(3),
      options: {
        corrections: { type: 'string' },
        epochs: { type: 'string' },
        lr: { type: 'string' },
        'batch-size': { type: 'string' },
        keep: { type: 'boolean' },
      },
    });
    const args = LoopArgs.parse(values);
    const report = await runLoopBench({
      corrections: args.corrections,
      retrain: { epochs: args.epochs, learningRate: args.lr, batchSize: args['batch-size'] },
      keep: args.keep,
      log: (line) => console.error(`[bench loop] ${line}`),
    });
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      archs: { type: 'string' },
      quick: { type: 'boolean' },
      'train-steps': { type: 'string' },
      dataset: { type: 'string' },
      'build-dir': { type: 'string' },
    },
  });
  const args = BenchArgs.parse(values);
  const env = getEnv();
  const log = (line: string) => console.error(`[bench] ${line}`);
  const root = process.cwd();
  const report = await runBench({
    archs: args.archs,
    sections: args.only,
    quick: args.quick,
    trainSteps: args['train-steps'],
    datasetDir: args.dataset ?? env.LOUPE_DATASET_DIR,
    shippedModelDir: env.LOUPE_MODEL_DIR,
    root,
    buildDir: args['build-dir'],
    // The build's output goes to stderr: stdout stays one JSON object.
    ensureBuild: (distDir) => ensureWebBuild({ root, distDir, env: process.env, log, stdio: 'stderr' }),
    log,
  });
  console.log(JSON.stringify(report, null, 2));
});
