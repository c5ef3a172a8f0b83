import { parseArgs } from 'node:util';
import { z } from 'zod';
import { BENCH_SECTIONS, runBench } from '@/lib/bench/run-bench';
import { getEnv } from '@/lib/env';
import { ARCHITECTURES } from '@/lib/ml/model';
import { runCli } from '@/scripts/cli';

const list = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1));

const BenchArgs = z.object({
  only: list(BENCH_SECTIONS).default([...BENCH_SECTIONS]),
  archs: list(ARCHITECTURES).default([...ARCHITECTURES]),
  quick: z.boolean().default(false),
  dataset: z.string().min(1).optional(),
});

// npm run bench -- [--only train,infer,pytorch] [--quick] [--archs mlp,lenet5,cnn] [--dataset DIR]
// One JSON object on stdout; progress on stderr.
await runCli(async () => {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, archs: { type: 'string' }, quick: { type: 'boolean' }, dataset: { type: 'string' } },
  });
  const args = BenchArgs.parse(values);
  const env = getEnv();
  const report = await runBench({
    archs: args.archs,
    sections: args.only,
    quick: args.quick,
    datasetDir: args.dataset ?? env.LOUPE_DATASET_DIR,
    shippedModelDir: env.LOUPE_MODEL_DIR,
    log: (line) => console.error(`[bench] ${line}`),
  });
  console.log(JSON.stringify(report, null, 2));
});
