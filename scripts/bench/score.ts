import { fork } from 'node:child_process';
import fs from 'node:fs';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { readIdxSplit } from '@/lib/formats/idx';
import { fillUnscoredCatalogue } from '@/scripts/bench/score-fixture';
import os from 'node:os';
import path from 'node:path';
import { readStatusKb } from '@/scripts/sim/process-memory';
import type { OnnxPrecision } from '@/lib/ml/onnx/precision';
import { workerExecArgv } from '@/scripts/lib/worker-args';
import type { ScoreRunInput, ScoreRunMessage } from '@/scripts/bench/score-run';
import type { DuringTrainingFigures, DuringTrainingInput } from '@/scripts/bench/score-during-training-run';

export interface ScoreBenchReport {
  items: number;
  scorer: string;
  /** Scoring and routing `items` unscored items, committed: the whole path. */
  seconds: number;
  itemsPerSecond: number;
  /**
   * CPU seconds per 1,000 items, all threads, and the main thread's share (reading, writing,
   * routing); the rest is the scoring thread (ONNX Runtime). On a busy machine these move less
   * than the wall time: 2 cores / cpuSecondsPer1000 is the rate the path would reach with both.
   */
  cpuSecondsPer1000: number;
  mainThreadCpuSecondsPer1000: number | null;
  itemsPerSecondOnTwoIdleCores: number;
  /** Where the time went (lib/routing/score-pipeline.ts's ScoreTimings), when the path reports it. */
  breakdown: Record<string, number> | null;
  result: Record<string, unknown>;
  statuses: Record<string, number>;
  /** Choosing the scorer and warming it up, as the worker does at start. */
  startupSeconds: number;
  /** Writing the fixture, in this process (not part of the path). */
  fillSeconds: number;
  /** Resident memory of the scoring process (every thread), sampled every 100 ms while it scored. */
  memory: {
    peakRssMb: number;
    meanRssMb: number;
    samples: number;
    /** Once started (scorer chosen and warmed up on the model), and just before scoring. */
    startupRssMb: number;
    beforeRssMb: number;
  } | null;
  loadAverage1m: number;
}

type Done = Extract<ScoreRunMessage, { type: 'done' }>;

/**
 * The `score` section: this process fills a temp database with `items` unscored items (real t10k
 * images, the shipped model as the active version); a child process started like the worker
 * scores and routes them, and this process samples the child's resident memory from /proc while
 * it scores.
 */
export async function measureScoring(options: {
  items: number;
  modelDir: string;
  datasetDir: string;
  /** ONNX Runtime's precision in the scoring process (LOUPE_ONNX_PRECISION); default fp32. */
  precision?: OnnxPrecision;
  log: (line: string) => void;
}): Promise<ScoreBenchReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-score-'));
  try {
    const dbFile = path.join(dir, 'bench.db');
    const started = performance.now();
    const db = openDb(dbFile);
    await migrateDb(db);
    const { images, labels } = readIdxSplit(options.datasetDir, 't10k');
    const { catalogueId } = await fillUnscoredCatalogue(db, {
      count: options.items,
      images: images.pixels,
      imageCount: images.count,
      labels,
      modelDir: options.modelDir,
    });
    db.$client.close();
    const fillSeconds = (performance.now() - started) / 1000;
    return { ...(await scoreInChild(options, { dbFile, catalogueId })), fillSeconds: Number(fillSeconds.toFixed(2)) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function scoreInChild(
  options: { items: number; precision?: OnnxPrecision; log: (line: string) => void },
  input: ScoreRunInput,
): Promise<Omit<ScoreBenchReport, 'fillSeconds'>> {
  const child = fork(path.resolve('scripts/bench/score-run.ts'), [JSON.stringify(input)], {
    execArgv: workerExecArgv(),
    env: { ...process.env, LOUPE_ONNX_PRECISION: options.precision ?? 'fp32' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const samples: number[] = [];
  let beforeKb: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  const sample = () => {
    const kb = readStatusKb(child.pid!, 'VmRSS');
    if (kb !== null) samples.push(kb);
  };
  const done = await new Promise<Done>((resolve, reject) => {
    child.on('message', (message: ScoreRunMessage) => {
      if (message.type === 'scoring') {
        options.log(`scoring ${options.items} items`);
        beforeKb = readStatusKb(child.pid!, 'VmRSS');
        timer = setInterval(sample, 100);
      } else {
        sample();
        resolve(message);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(new Error(`the scoring benchmark's process exited (code ${code}) before reporting.`)),
    );
  });
  if (timer) clearInterval(timer);
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
  const mb = (kb: number) => Math.round(kb / 1024);
  const { timings, ...result } = done.result as typeof done.result & { timings?: Record<string, number> };
  return {
    items: options.items,
    scorer: done.scorer,
    seconds: Number(done.seconds.toFixed(2)),
    itemsPerSecond: Math.round(options.items / done.seconds),
    cpuSecondsPer1000: Number(((done.cpuSeconds / options.items) * 1000).toFixed(3)),
    mainThreadCpuSecondsPer1000:
      done.mainThreadCpuSeconds === null
        ? null
        : Number(((done.mainThreadCpuSeconds / options.items) * 1000).toFixed(3)),
    itemsPerSecondOnTwoIdleCores: Math.round((2 * options.items) / done.cpuSeconds),
    breakdown: timings ?? null,
    result,
    statuses: done.statuses,
    startupSeconds: Number(done.startupSeconds.toFixed(2)),
    memory:
      samples.length > 0
        ? {
            peakRssMb: mb(Math.max(...samples)),
            meanRssMb: mb(samples.reduce((a, b) => a + b, 0) / samples.length),
            samples: samples.length,
            startupRssMb: done.startupRssMb,
            beforeRssMb: mb(beforeKb ?? 0),
          }
        : null,
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
  };
}

/**
 * Import to scored while a training runs (issue 17's 5 s for 2,000 items): a child process
 * trains the cnn on its main thread as a retraining does while its scoring lane runs, and
 * `items` items are imported once the training is under way.
 */
export async function measureImportToScored(options: {
  items: number;
  modelDir: string;
  datasetDir: string;
}): Promise<DuringTrainingFigures> {
  const input: DuringTrainingInput = {
    items: options.items,
    modelDir: path.resolve(options.modelDir),
    datasetDir: path.resolve(options.datasetDir),
  };
  const child = fork(path.resolve('scripts/bench/score-during-training-run.ts'), [JSON.stringify(input)], {
    execArgv: workerExecArgv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<DuringTrainingFigures>((resolve, reject) => {
    child.on('message', (message: DuringTrainingFigures) => resolve(message));
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(new Error(`the import-to-scored benchmark exited (code ${code}) before reporting.`)),
    );
  });
}
