import { parseArgs } from 'node:util';
import { getEnv } from '@/lib/env';
import { runSimulateCommand, SimulateArgs } from '@/scripts/sim/command';
import { ensureWebBuild } from '@/scripts/lib/web-build';
import { runCli } from '@/scripts/cli';

// npm run simulate -- [--reviewers 4] [--error-rate 0.02] [--base shipped|small] [--threshold 0.9 | --target 0.98] [--quick] ...
// npm run simulate -- --url http://host:3000 --catalogue slug --admin email:pw --reviewer email:pw [--reviewer ...] [--batches 0]
// One JSON object on stdout (also written with the chart under --out); progress on stderr.
await runCli(async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      admin: { type: 'string' },
      reviewer: { type: 'string', multiple: true },
      catalogue: { type: 'string' },
      reviewers: { type: 'string' },
      items: { type: 'string' },
      batches: { type: 'string' },
      'batch-interval-s': { type: 'string' },
      'error-rate': { type: 'string' },
      'think-ms': { type: 'string' },
      base: { type: 'string' },
      'base-share': { type: 'string' },
      'base-epochs': { type: 'string' },
      threshold: { type: 'string' },
      target: { type: 'string' },
      'max-decisions': { type: 'string' },
      'max-minutes': { type: 'string' },
      'sample-every-s': { type: 'string' },
      'min-new-labels': { type: 'string' },
      'retrain-epochs': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'build-dir': { type: 'string' },
      keep: { type: 'boolean' },
      quick: { type: 'boolean' },
    },
  });
  const args = SimulateArgs.parse(values);
  const env = getEnv();
  const log = (line: string) => console.error(`[simulate] ${line}`);
  const report = await runSimulateCommand(args, {
    root: process.cwd(),
    datasetDir: env.LOUPE_DATASET_DIR,
    shippedModelDir: env.LOUPE_MODEL_DIR,
    log,
    ensureBuild: (distDir) => ensureWebBuild({ root: process.cwd(), distDir, env: process.env, log, stdio: 'stderr' }),
  });
  console.log(JSON.stringify(report, null, 2));
});
