import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';

const Figures = z.object({
  params: z.number().int(),
  train: z
    .object({
      imagesPerSecond: z.number().positive(),
      steps: z.number().int(),
      batchSize: z.number().int(),
      seconds: z.number(),
    })
    .optional(),
  infer: z
    .object({
      imagesPerSecond: z.number().positive(),
      count: z.number().int(),
      weights: z.literal('fresh'),
      /** CPU time of all its threads while scoring `count` images. */
      cpuSeconds: z.number().optional(),
    })
    .optional(),
});

/** What scripts/bench_torch.py prints (one JSON line). */
export const TorchBenchResult = z.object({
  version: z.string(),
  python: z.string(),
  threads: z.number().int(),
  archs: z.record(z.string(), Figures),
  /** The square matMul rate on the same threads (asked for with matMulSize). */
  matMul: z.object({ gflops: z.number().positive(), size: z.number().int(), repeats: z.number().int() }).optional(),
});
export type TorchBenchResult = z.infer<typeof TorchBenchResult>;

export type TorchLookup = { python: string; version: string } | { python: null; reason: string };

/**
 * The first interpreter that imports torch. Debian's python3-torch lives in /usr/bin/python3's
 * dist-packages, which a pyenv or venv `python3` earlier on PATH does not see, hence the
 * explicit fallback; LOUPE_PYTHON names another.
 */
export function findTorchPython(): TorchLookup {
  const candidates = [
    ...new Set([process.env.LOUPE_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c)),
  ];
  const failures: string[] = [];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
    const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`);
    failures.push(`${python}: ${why}`);
  }
  return { python: null, reason: `no Python with torch (${failures.join('; ')})` };
}

export interface TorchBenchOptions {
  python: string;
  datasetDir: string;
  archs: string[];
  sections: ('train' | 'infer')[];
  threads: number;
  batchSize: number;
  trainSteps: number;
  warmupSteps: number;
  inferCount: number;
  /** Side of a square matMul to time as well (the ceiling figure), 0 for none. */
  matMulSize?: number;
  matMulRepeats?: number;
  timeoutMs: number;
}

/** Runs scripts/bench_torch.py; its progress is passed through to this process's stderr. */
export function runTorchBench(options: TorchBenchOptions): TorchBenchResult {
  const script = path.join(import.meta.dirname, '..', '..', 'scripts', 'bench_torch.py');
  const args = [
    script,
    '--dataset',
    options.datasetDir,
    '--archs',
    options.archs.join(','),
    '--sections',
    options.sections.join(','),
    '--threads',
    String(options.threads),
    '--batch-size',
    String(options.batchSize),
    '--train-steps',
    String(options.trainSteps),
    '--warmup-steps',
    String(options.warmupSteps),
    '--infer-count',
    String(options.inferCount),
    '--matmul-size',
    String(options.matMulSize ?? 0),
    '--matmul-repeats',
    String(options.matMulRepeats ?? 10),
  ];
  const run = spawnSync(options.python, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0)
    throw new Error(`scripts/bench_torch.py failed (${run.error?.message ?? `exit ${run.status}`}).`);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return TorchBenchResult.parse(JSON.parse(line));
}
