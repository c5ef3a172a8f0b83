/**
 * `npm run compare -- --idx <dir> [--archs logreg,forest,mlp,lenet5,cnn] [--epochs N|N,arch=M,...]
 *   [--trees N] [--train-limit N] [--test-limit N] [--augment] [--schedule plateau|cosine]
 *   [--select accuracy|loss] [--replicas N] [--seed N] [--json] [--out <file>]`
 *
 * Trains each architecture on the IDX training split (less Loupe's fixed validation split),
 * measures it on the t10k split and prints one table (accuracy, macro F1, ECE, parameters,
 * training time, scoring img/s, coverage at 1% error); with --json one JSON object with each
 * row's classification report and confusion matrix instead. --out <file> writes that JSON
 * object after every architecture, so a long run that is stopped keeps the rows it finished.
 * Progress goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { badInput } from '@/lib/errors';
import { LAB_ARCHITECTURES, parseLabArchitectures, type LabArchitecture } from '@/lib/lab/architectures';
import { compareArchitectures, loadIdxLabDataset } from '@/lib/lab/compare';
import { formatComparisonTable } from '@/lib/lab/compare-table';
import { DEFAULT_LAB_SETTINGS, type LabResult } from '@/lib/lab/run-architecture';
import { LEARNING_RATE_SCHEDULES } from '@/lib/ml/train';
import { runCli } from '@/scripts/cli';

const USAGE =
  'usage: npm run compare -- --idx <dir> [--archs logreg,forest,mlp,lenet5,cnn] [--epochs N|N,arch=M] [--trees N] [--train-limit N] [--test-limit N] [--augment] [--schedule plateau|cosine] [--select accuracy|loss] [--replicas N] [--seed N] [--json] [--out <file>]';

const Count = z.coerce.number().int().min(1);
const CompareArgs = z.object({
  idx: z.string().min(1, '--idx <dir> is required'),
  archs: z.string().default(LAB_ARCHITECTURES.join(',')),
  epochs: z.string().default(String(DEFAULT_LAB_SETTINGS.epochs)),
  trees: Count.max(1000).default(DEFAULT_LAB_SETTINGS.trees),
  'train-limit': Count.optional(),
  'test-limit': Count.optional(),
  augment: z.boolean().default(false),
  schedule: z.enum(LEARNING_RATE_SCHEDULES).default(DEFAULT_LAB_SETTINGS.schedule),
  select: z.enum(['accuracy', 'loss']).default(DEFAULT_LAB_SETTINGS.selectBy),
  // One thread per core by default, as `npm run train` (the worker's lab jobs use one).
  replicas: Count.max(16).default(Math.min(os.availableParallelism(), 16)),
  seed: z.coerce.number().int().default(DEFAULT_LAB_SETTINGS.seed),
  json: z.boolean().default(false),
  out: z.string().min(1).optional(),
});

/** `20` or `20,cnn=3,lenet5=10`: a default epoch count and per-architecture ones. */
export function parseEpochs(text: string): { epochs: number; epochsFor: Partial<Record<LabArchitecture, number>> } {
  let epochs = DEFAULT_LAB_SETTINGS.epochs;
  const epochsFor: Partial<Record<LabArchitecture, number>> = {};
  for (const part of text.split(',').map((p) => p.trim())) {
    const [name, value] = part.includes('=') ? part.split('=') : [undefined, part];
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > 500)
      throw badInput(`--epochs: "${part}" is not 1-500. ${USAGE}`);
    if (name === undefined) epochs = count;
    else epochsFor[parseLabArchitectures(name)[0]!] = count;
  }
  return { epochs, epochsFor };
}

await runCli(async () => {
  let values: unknown;
  try {
    values = parseArgs({
      strict: true,
      options: {
        idx: { type: 'string' },
        archs: { type: 'string' },
        epochs: { type: 'string' },
        trees: { type: 'string' },
        'train-limit': { type: 'string' },
        'test-limit': { type: 'string' },
        augment: { type: 'boolean' },
        schedule: { type: 'string' },
        select: { type: 'string' },
        replicas: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw badInput(`${error instanceof Error ? error.message : String(error)}. ${USAGE}`);
  }
  const args = CompareArgs.parse(values);
  const archs = parseLabArchitectures(args.archs);
  const { epochs, epochsFor } = parseEpochs(args.epochs);
  const data = loadIdxLabDataset({ dir: args.idx, trainLimit: args['train-limit'], testLimit: args['test-limit'] });
  const { initBackend } = await import('@/lib/ml/backend');
  const backend = await initBackend();
  const settings = {
    ...DEFAULT_LAB_SETTINGS,
    epochs,
    trees: args.trees,
    augment: args.augment,
    schedule: args.schedule,
    selectBy: args.select,
    replicas: args.replicas,
    seed: args.seed,
  };
  console.error(`compare: ${archs.join(', ')} on ${data.source}; backend ${backend}`);
  let lastLine = '';
  const started = performance.now();
  const finished: LabResult[] = [];
  const summary = () =>
    JSON.stringify({
      source: data.source,
      backend,
      settings: { ...settings, epochsFor },
      classNames: data.classNames,
      seconds: (performance.now() - started) / 1000,
      rows: finished.map(({ predicted: _predicted, confidence: _confidence, ...row }) => row),
    });
  const results = await compareArchitectures({
    archs,
    data,
    settings,
    epochsFor,
    onProgress: (p) => {
      const line =
        p.phase === 'evaluating'
          ? `${p.arch}: evaluating`
          : `${p.arch}: ${p.arch === 'forest' ? 'tree' : 'epoch'} ${p.step}/${p.steps}${p.valAccuracy !== undefined ? ` val ${(p.valAccuracy * 100).toFixed(2)}%` : ''}`;
      if (line !== lastLine && (p.batch === undefined || p.valAccuracy !== undefined || p.phase === 'evaluating'))
        console.error(line);
      lastLine = line;
    },
    onResult: (row) => {
      finished.push(row);
      if (args.out) writeFileSync(args.out, `${summary()}\n`);
      console.error(
        `${row.arch}: ${(row.accuracy * 100).toFixed(2)}% in ${row.trainSeconds.toFixed(1)} s (${row.epochsRun} epochs, best ${row.bestEpoch})`,
      );
    },
  });
  if (args.json) console.log(summary());
  else {
    console.log(`${data.source}; backend ${backend}\n`);
    console.log(formatComparisonTable(results));
  }
});
