import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { fillSyntheticCatalogue } from '@/scripts/bench/catalogue-fixture';
import { measureCatalogueQueries, type ExportFigure, type QueryFigure } from '@/scripts/bench/catalogue-queries';
import { runImportBench, type ImportBenchReport } from '@/scripts/bench/import';
import { measureQueueLatency, type QueueLatencyReport } from '@/scripts/bench/queue-latency';
import { measureQueueDb, type QueueDbReport } from '@/scripts/bench/queue-db';
import { readIdxSplit } from '@/lib/formats/idx';
import {
  measureInference,
  measureTraining,
  modelDirFor,
  type InferenceFigures,
  type TrainingFigures,
} from '@/scripts/bench/measure';
import { measureMatMulPeak, modelFlops, type MatMulPeak, type ModelFlops } from '@/scripts/bench/flops';
import { findTorchPython, runTorchBench, type TorchBenchResult } from '@/scripts/bench/pytorch';
import type { OnnxInferenceFigures } from '@/scripts/bench/infer-onnx';
import { measureImportToScored, measureScoring, type ScoreBenchReport } from '@/scripts/bench/score';
import type { DuringTrainingFigures } from '@/scripts/bench/score-during-training-run';
import { initBackend, wasmThreadCount } from '@/lib/ml/backend';
import { createModel, type Architecture } from '@/lib/ml/model';
import { runSimulateCommand, SimulateArgs } from '@/scripts/sim/command';
import type { PeakMemory } from '@/scripts/sim/process-memory';

export const BENCH_SECTIONS = ['train', 'infer', 'pytorch', 'import', 'catalogue', 'queue', 'memory', 'score'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

export interface BenchOptions {
  archs: Architecture[];
  sections: BenchSection[];
  quick: boolean;
  /** Timed training steps (Loupe's and PyTorch's alike) instead of the size's own: a shorter run on a busy machine. */
  trainSteps?: number;
  datasetDir: string;
  /** Where the shipped model lives; used for `cnn` inference when it holds a cnn. */
  shippedModelDir: string;
  /** The repository root: queue and memory start Loupe's web server (and worker) from it. */
  root: string;
  /** The Next build folder queue and memory start the web server from (relative to root). */
  buildDir: string;
  /** Makes the build in `distDir` current (scripts pass ensureWebBuild); called only for queue and memory. */
  ensureBuild: (distDir: string) => void;
  log: (line: string) => void;
}

/** Sizes: a few hundred steps after warm-up, the whole t10k set; --quick is a smoke test. */
const FULL = { trainSteps: 200, warmupSteps: 5, inferCount: 10_000, matMulSize: 1024, matMulRepeats: 10 };
const QUICK = { trainSteps: 3, warmupSteps: 1, inferCount: 2_500, matMulSize: 256, matMulRepeats: 2 };
/** The sections that start Loupe: issue 6's sizes (100,000 items, 50 reviewers); --quick is a smoke test. */
const LOUPE_FULL = {
  csvRows: undefined,
  catalogueItems: 100_000,
  catalogueRuns: 5,
  queueItems: 100_000,
  queueReviewers: 50,
  queueRounds: 60,
  // Issue 19: database time at 1M items; 200 paced reviewers for 60 s, 50 on the grid.
  queueDb: { itemCount: 1_000_000, decisions: 3_000, warmup: 200, grids: 100 },
  queuePaced: {
    reviewers: 200,
    intervalMs: 1000,
    seconds: 60,
    gridReviewers: 50,
    gridIntervalMs: 10_000,
    gridSize: 25,
  },
};
const LOUPE_QUICK = {
  csvRows: 1_000,
  catalogueItems: 5_000,
  catalogueRuns: 1,
  queueItems: 2_000,
  queueReviewers: 5,
  queueRounds: 3,
  queueDb: { itemCount: 5_000, decisions: 200, warmup: 20, grids: 10 },
  queuePaced: { reviewers: 10, intervalMs: 1000, seconds: 3, gridReviewers: 3, gridIntervalMs: 1500, gridSize: 5 },
};
const BATCH_SIZE = 128;
const TORCH_THREADS = 2;
const NUM_CLASSES = 10;

export interface ArchFigures {
  params: number;
  /** Convolution and dense arithmetic per image (lib/bench/flops.ts). */
  flops: ModelFlops;
  /** With `gflops`: images/s x flops.training, the arithmetic rate training sustained. */
  train?: TrainingFigures & { gflops: number };
  /** The same training spread over `replicas` threads, one per core (trainModel's `replicas`). */
  trainReplicas?: TrainingFigures & { gflops: number; replicas: number };
  /** The same steps computed by ONNX Runtime on every core (trainModel's engine 'onnx'). */
  trainOnnx?: TrainingFigures & { gflops: number; threads: number };
  infer?: InferenceFigures;
}

export interface BenchReport {
  machine: {
    cpuModel: string;
    cores: number;
    node: string;
    platform: string;
    backend: string;
    tfjs: string;
    loadAverage1m: number;
  };
  settings: {
    quick: boolean;
    batchSize: number;
    trainSteps: number;
    warmupSteps: number;
    inferCount: number;
    augment: true;
    dataset: string;
    torchThreads: number;
  };
  archs: Partial<Record<Architecture, ArchFigures>>;
  pytorch: (TorchBenchResult & { executable: string }) | null;
  pytorchReason?: string;
  /** loupe / pytorch per architecture; infer compares Loupe on both cores with PyTorch on two threads. */
  ratios: Partial<Record<Architecture, ArchRatios>> | null;
  /**
   * The backend's arithmetic ceiling on this machine: its best matMul rate on the threads this
   * process computes with, and that rate scaled to every core (the most any training could
   * reach here). Measured with the train section.
   */
  ceiling?: MatMulPeak & { threads: number; allCoresGflops: number };
  /** IDX and CSV import throughput (`npm run bench -- import`'s figures). */
  import?: Omit<ImportBenchReport, 'machine'>;
  /** The catalogue browser's and the export's queries on a synthetic catalogue. */
  catalogue?: { items: number; runs: number; fillSeconds: number; queries: QueryFigure[]; exports: ExportFigure[] };
  /** db: the queue's database time in-process (scripts/bench/queue-db.ts); the rest over HTTP. */
  queue?: QueueLatencyReport & { throughNext: QueueLatencyReport; db: QueueDbReport };
  memory?: MemoryFigures;
  /** The whole scoring path (issue 17): read, predict, write predictions, route, commit. */
  score?: ScoreBenchReport & { duringTraining: DuringTrainingFigures; int8: ScoreBenchReport };
  notes: string[];
}

export interface ArchRatios {
  train?: number;
  /** trainReplicas (every core) / PyTorch (two threads). */
  trainReplicas?: number;
  /** trainOnnx (ONNX Runtime, every core) / PyTorch (two threads). */
  trainOnnx?: number;
  infer?: number;
  /** ONNX Runtime on one thread / PyTorch (two threads), wall time. */
  inferOnnxOneThread?: number;
  /** ONNX Runtime on every core / PyTorch (two threads), wall time. */
  inferOnnxAllCores?: number;
  /** PyTorch's CPU seconds per image / ONNX Runtime's on one thread: the same comparison by CPU time, robust to a busy machine. */
  inferOnnxPerCpuSecond?: number;
  /** PyTorch's training rate in GFLOP/s (its images/s x the same flops per image). */
  pytorchTrainGflops?: number;
  /** Share of `ceiling.allCoresGflops` that training at half PyTorch's images/s would sustain. */
  halfOfPytorchNeedsShareOfCeiling?: number;
}

export interface MemoryFigures {
  web: PeakMemory | null;
  worker: PeakMemory | null;
  /** The simulation the two processes served while they were sampled. */
  run: {
    items: number;
    batches: number;
    reviewers: number;
    decisions: number;
    seconds: number;
    stoppedBecause: string;
    modelVersions: { name: string; status: string }[];
  };
  /** The web server alone under the queue section's load (null when queue was not run). */
  webUnderQueueLoad: PeakMemory | null;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  const sizes = {
    ...(options.quick ? QUICK : FULL),
    ...(options.trainSteps ? { trainSteps: options.trainSteps } : {}),
  };
  const backend = await initBackend();
  const wants = (s: BenchSection) => options.sections.includes(s);
  const archs: BenchReport['archs'] = {};
  const loupeSizes = options.quick ? LOUPE_QUICK : LOUPE_FULL;
  // Build first: a stale build must not cost the minutes of training before it shows.
  if (wants('queue') || wants('memory')) options.ensureBuild(options.buildDir);
  const mlSections = wants('train') || wants('infer') || wants('pytorch');

  const train = wants('train') ? readIdxSplit(options.datasetDir, 'train') : null;
  const test = wants('infer') ? readIdxSplit(options.datasetDir, 't10k') : null;
  const ceiling = train ? measureCeiling(sizes, log) : undefined;
  for (const arch of mlSections ? options.archs : []) {
    const figures: ArchFigures = modelFacts(arch);
    if (train) {
      log(`${arch}: training ${sizes.warmupSteps} warm-up + ${sizes.trainSteps} steps of ${BATCH_SIZE}`);
      const measured = await measureTraining({
        arch,
        numClasses: NUM_CLASSES,
        steps: sizes.trainSteps,
        warmupSteps: sizes.warmupSteps,
        batchSize: BATCH_SIZE,
        train: { pixels: train.images.pixels, labels: train.labels, count: train.images.count },
      });
      figures.train = { ...measured, gflops: round3((measured.imagesPerSecond * figures.flops.training) / 1e9) };
      const replicas = os.availableParallelism();
      if (replicas > 1) {
        log(`${arch}: the same on ${replicas} replicas`);
        const spread = await measureTraining({
          arch,
          numClasses: NUM_CLASSES,
          steps: sizes.trainSteps,
          warmupSteps: sizes.warmupSteps,
          batchSize: BATCH_SIZE,
          replicas,
          train: { pixels: train.images.pixels, labels: train.labels, count: train.images.count },
        });
        figures.trainReplicas = {
          ...spread,
          replicas,
          gflops: round3((spread.imagesPerSecond * figures.flops.training) / 1e9),
        };
      }
      const threads = os.availableParallelism();
      log(`${arch}: the same computed by ONNX Runtime on ${threads} threads (--engine onnx)`);
      try {
        const onnx = await measureTraining({
          arch,
          numClasses: NUM_CLASSES,
          steps: sizes.trainSteps,
          warmupSteps: sizes.warmupSteps,
          batchSize: BATCH_SIZE,
          engine: 'onnx',
          train: { pixels: train.images.pixels, labels: train.labels, count: train.images.count },
        });
        figures.trainOnnx = {
          ...onnx,
          threads,
          gflops: round3((onnx.imagesPerSecond * figures.flops.training) / 1e9),
        };
      } catch (error) {
        // An architecture the engine cannot train (lenet5's average pooling): said, not fatal.
        log(`${arch}: not measured with --engine onnx: ${(error as Error).message}`);
      }
    }
    if (test) {
      const count = Math.min(sizes.inferCount, test.images.count);
      const model = await modelDirFor(arch, NUM_CLASSES, arch === 'cnn' ? options.shippedModelDir : null);
      log(`${arch}: inference on ${count} t10k images (${model.weights} weights)`);
      try {
        figures.infer = await measureInference({
          modelDir: model.dir,
          weights: model.weights,
          test: { pixels: test.images.pixels.subarray(0, count * 784), labels: test.labels.subarray(0, count), count },
        });
      } finally {
        model.cleanup();
      }
    }
    archs[arch] = figures;
  }

  const torch = wants('pytorch') ? benchTorch(options, sizes) : { result: null, reason: 'not requested (--only)' };
  const imported = wants('import') ? await benchImport(options, loupeSizes.csvRows) : undefined;
  const catalogue = wants('catalogue') ? await benchCatalogue(options, loupeSizes) : undefined;
  const queue = wants('queue')
    ? {
        ...(await measureQueueLatency({
          root: options.root,
          distDir: options.buildDir,
          itemCount: loupeSizes.queueItems,
          reviewers: loupeSizes.queueReviewers,
          rounds: loupeSizes.queueRounds,
          paced: loupeSizes.queuePaced,
          log,
        })),
        // The same closed loop with every request through Next: what answering the hot routes
        // before Next saves, measured in the same run.
        throughNext: await measureQueueLatency({
          root: options.root,
          distDir: options.buildDir,
          itemCount: loupeSizes.queueItems,
          reviewers: loupeSizes.queueReviewers,
          rounds: loupeSizes.queueRounds,
          queueRoutes: 'next',
          log,
        }),
        db: await measureQueueDb({ ...loupeSizes.queueDb, reviewers: 20, gridSize: 25, log }),
      }
    : undefined;
  const memory = wants('memory') ? await benchMemory(options, queue?.webMemory ?? null) : undefined;
  const score = wants('score')
    ? {
        ...(await measureScoring({
          items: options.quick ? 2_000 : 100_000,
          modelDir: options.shippedModelDir,
          datasetDir: options.datasetDir,
          log: (line) => log(`score: ${line}`),
        })),
        duringTraining: await measureImportToScored({
          items: 2_000,
          modelDir: options.shippedModelDir,
          datasetDir: options.datasetDir,
        }),
        int8: await measureScoring({
          items: options.quick ? 2_000 : 100_000,
          modelDir: options.shippedModelDir,
          datasetDir: options.datasetDir,
          precision: 'int8',
          log: (line) => log(`score (int8): ${line}`),
        }),
      }
    : undefined;
  const cpus = os.cpus();
  return {
    machine: {
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      cores: os.availableParallelism(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend,
      tfjs: tf.version.tfjs,
      loadAverage1m: Number(os.loadavg()[0]?.toFixed(2)),
    },
    settings: {
      quick: options.quick,
      batchSize: BATCH_SIZE,
      ...sizes,
      augment: true,
      dataset: options.datasetDir,
      torchThreads: TORCH_THREADS,
    },
    archs,
    pytorch: torch.result,
    ...(torch.result ? {} : { pytorchReason: torch.reason }),
    ratios: torch.result ? ratiosOf(archs, torch.result, ceiling) : null,
    ...(ceiling ? { ceiling } : {}),
    ...(imported ? { import: imported } : {}),
    ...(catalogue ? { catalogue } : {}),
    ...(queue ? { queue } : {}),
    ...(memory ? { memory } : {}),
    ...(score ? { score } : {}),
    notes: [
      "train: images/s of trainModel (augmentation, Adam, batch 128) on real Fashion-MNIST train images, after warm-up steps, on this process's backend. gflops: images/s x flops.training (convolution and dense arithmetic of the forward pass, the weight gradients and the input gradients; batch norm, pooling and the optimizer not counted). trainReplicas: the same, data-parallel over one replica thread per core (each single-threaded wasm; gradients averaged each step, batch norm over each replica's shard); its worker start-up is not timed, its first steps are. trainOnnx: the same steps with trainModel's engine 'onnx' (the step as one ONNX graph in ONNX Runtime, intra-op threads = cores; session creation not timed); ratios.trainOnnx compares it with PyTorch.",
      "ceiling: the best square float32 matMul rate of this process's backend on its threads (XNNPACK's GEMM on wasm), and that rate times cores / threads: no training step runs its convolutions faster here. ratios.halfOfPytorchNeedsShareOfCeiling: the share of that all-cores rate that training at half PyTorch's images/s would have to sustain over the whole step.",
      "infer.onnx: the same model exported to ONNX (lib/ml/onnx) in ONNX Runtime: one session on one intra-op thread, one session on every core (what Loupe scores with); infer.onnx.int8: the same for its int8 export (LOUPE_ONNX_PRECISION=int8), with the share of images whose class matches float32's; overTfjs compares one thread with infer.single and every core with infer.parallelAfterStartup. cpuSecondsPer1000 is process CPU time, so a busy machine changes it less than images/s; ratios.inferOnnxPerCpuSecond compares it with PyTorch's own CPU time (its two threads included).",
      'infer.single: predictLogits in this process; infer.parallel: predictLogitsParallel wall time including worker start-up and model loading; infer.parallelAfterStartup: from the moment every worker had its model (ratios.infer uses this one: PyTorch is timed after its model is built and warm).',
      'import: the 10,000 t10k images as gzipped IDX and as a Kaggle-layout CSV, each into a fresh temp database through lib/import (as `npm run import` and the import page); reimport: the same file again, which must insert 0.',
      "catalogue: listItems (the catalogue browser's page and count, sorted and filtered) and the CSV/JSON export on a synthetic catalogue in a temp database, in this process: median and max of `runs` after one warm-up.",
      'queue: the production web server (scripts/serve-web.ts in front of Next, as npm start runs it; web server only: the synthetic model has no weights, so no worker runs and nothing competes for the cores) on a temp database with the synthetic catalogue; `reviewers` clients sign in over HTTP and each claims and confirms `roundsPerReviewer` items with no think time, all at once. Latency is per request on the client (HTTP, auth, validation, SQLite); one untimed claim and submit warm the routes first. errors counts every failed call, 409s included; it must be 0. queue.paced: then, on the same server, an open loop at a human pace (focus: each reviewer claims and confirms one item per intervalMs on a fixed schedule, claim latency from the scheduled time; grid: a claim-batch of gridSize and one grid submit per gridIntervalMs); doubleServes counts an item handed to a second reviewer while undecided, or to the same reviewer twice; must be 0. queue.throughNext: the same closed loop on a fresh server with LOUPE_QUEUE_ROUTES=next, every request through Next, for the ratio. queue.db: the lib/ claim and submit functions in-process on a temp database of db.items items (20% waiting, audit 5% of those, 2,000 gold items, gold rate 0.05), one call at a time: database time alone.',
      "memory: peak resident memory (sampled /proc tree RSS and the root's VmHWM) of the web server and the worker during a fresh-mode `npm run simulate` (streamed t10k images scored by the worker, simulated reviewers over HTTP; the full run crosses the retrain policy's label count, so the worker also trains; run.modelVersions says whether the candidate finished before the run stopped). webUnderQueueLoad: the web server alone during the queue section.",
      "score: scoreUnscoredItems on `items` unscored items (t10k images repeated, 5% with an import label, 1% gold) of a temp database with the shipped model, in a child process started as the worker starts (its job handlers loaded, the scorer chosen): read, predict (ONNX Runtime in the scoring thread, mirror averaging as the model chose), calibrate, write predictions, route, commit. breakdown: main-thread seconds per part and the scoring thread's request time (which overlaps reading and writing); cpuSecondsPer1000 (every thread) and mainThreadCpuSecondsPer1000 move less than the wall time on a busy machine, and itemsPerSecondOnTwoIdleCores = 2 / CPU seconds per item is what the path would reach with both cores to itself. memory: the child's resident memory sampled every 100 ms while it scores. score.duringTraining: another child trains the cnn on its main thread (tfjs, 128-image steps, as a retraining does) while its scoring lane runs as in the worker; 2,000 items are imported after the third step; importToScoredSeconds runs from their commit to the last one's prediction. score.int8: the whole path again on a fresh fixture with LOUPE_ONNX_PRECISION=int8 (the shipped model's model.int8.onnx).",
      'A load average near or above the core count means something else was running: figures are then low.',
    ],
  };
}

async function benchImport(options: BenchOptions, csvRows: number | undefined): Promise<BenchReport['import']> {
  const { machine: _machine, ...figures } = await runImportBench({ csvRows, log: options.log });
  return figures;
}

async function benchCatalogue(
  options: BenchOptions,
  sizes: typeof LOUPE_FULL | typeof LOUPE_QUICK,
): Promise<BenchReport['catalogue']> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-catalogue-'));
  try {
    const db = openDb(path.join(dir, 'bench.db'));
    try {
      await migrateDb(db);
      const started = performance.now();
      const fixture = await fillSyntheticCatalogue(db, { itemCount: sizes.catalogueItems });
      const fillSeconds = Number(((performance.now() - started) / 1000).toFixed(2));
      options.log(`catalogue: ${sizes.catalogueItems} synthetic items in ${fillSeconds} s`);
      const figures = await measureCatalogueQueries(db, {
        fixture,
        runs: sizes.catalogueRuns,
        plans: false,
        log: (line) => options.log(`catalogue: ${line}`),
      });
      return { items: sizes.catalogueItems, runs: sizes.catalogueRuns, fillSeconds, ...figures };
    } finally {
      db.$client.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Full: 10,000 images in one batch and enough decisions to cross the retrain policy's 200 labels; quick: the simulator's --quick. */
async function benchMemory(options: BenchOptions, webUnderQueueLoad: PeakMemory | null): Promise<MemoryFigures> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-memory-'));
  try {
    const common = { out, 'build-dir': options.buildDir };
    const args = SimulateArgs.parse(
      options.quick
        ? { ...common, quick: true }
        : { ...common, items: 10_000, batches: 1, 'max-decisions': 500, 'min-new-labels': 200 },
    );
    const report = await runSimulateCommand(args, {
      root: options.root,
      datasetDir: options.datasetDir,
      shippedModelDir: options.shippedModelDir,
      ensureBuild: options.ensureBuild,
      log: (line) => options.log(`memory: ${line}`),
    });
    const { scenario, summary } = report;
    return {
      web: report.processes?.web ?? null,
      worker: report.processes?.worker ?? null,
      run: {
        items: scenario.streamItems,
        batches: scenario.batches,
        reviewers: scenario.reviewers,
        decisions: summary.humanDecisions,
        seconds: summary.seconds,
        stoppedBecause: summary.stoppedBecause,
        modelVersions: report.models.map((m) => ({ name: m.name, status: m.status })),
      },
      webUnderQueueLoad,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function modelFacts(arch: Architecture): ArchFigures {
  const model = createModel(arch, { numClasses: NUM_CLASSES });
  try {
    return { params: model.countParams(), flops: modelFlops(model) };
  } finally {
    model.dispose();
  }
}

const round3 = (x: number) => Number(x.toFixed(3));

function measureCeiling(sizes: typeof FULL, log: (line: string) => void): NonNullable<BenchReport['ceiling']> {
  log(`ceiling: matMul ${sizes.matMulSize}x${sizes.matMulSize}, best of ${sizes.matMulRepeats}`);
  const peak = measureMatMulPeak({ size: sizes.matMulSize, repeats: sizes.matMulRepeats });
  // wasm: its thread count; tfjs-node's own pool already spans the cores; cpu: one thread.
  const cores = os.availableParallelism();
  const threads = wasmThreadCount() ?? (tf.getBackend() === 'tensorflow' ? cores : 1);
  return { ...peak, gflops: round3(peak.gflops), threads, allCoresGflops: round3((peak.gflops * cores) / threads) };
}

function benchTorch(options: BenchOptions, sizes: typeof FULL): { result: BenchReport['pytorch']; reason: string } {
  const sections = (['train', 'infer'] as const).filter((s) => options.sections.includes(s));
  if (sections.length === 0)
    return { result: null, reason: 'nothing to compare: neither train nor infer was requested' };
  const found = findTorchPython();
  if (found.python === null) return { result: null, reason: found.reason };
  options.log(`pytorch ${found.version} (${found.python}), ${TORCH_THREADS} threads`);
  try {
    const result = runTorchBench({
      python: found.python,
      datasetDir: options.datasetDir,
      archs: options.archs,
      sections,
      threads: TORCH_THREADS,
      batchSize: BATCH_SIZE,
      trainSteps: sizes.trainSteps,
      warmupSteps: sizes.warmupSteps,
      inferCount: sizes.inferCount,
      ...(sections.includes('train') ? { matMulSize: sizes.matMulSize, matMulRepeats: sizes.matMulRepeats } : {}),
      timeoutMs: options.quick ? 180_000 : 1_800_000,
    });
    return { result: { ...result, executable: found.python }, reason: '' };
  } catch (error) {
    return { result: null, reason: error instanceof Error ? error.message : String(error) };
  }
}

function onnxRatios(
  onnx: OnnxInferenceFigures,
  torch: NonNullable<TorchBenchResult['archs'][string]['infer']>,
): Partial<ArchRatios> {
  return {
    inferOnnxOneThread: round3(onnx.oneThreadImagesPerSecond / torch.imagesPerSecond),
    inferOnnxAllCores: round3(onnx.allCoresImagesPerSecond / torch.imagesPerSecond),
    ...(onnx.int8
      ? {
          inferOnnxInt8OneThread: round3(onnx.int8.oneThreadImagesPerSecond / torch.imagesPerSecond),
          inferOnnxInt8AllCores: round3(onnx.int8.allCoresImagesPerSecond / torch.imagesPerSecond),
        }
      : {}),
    ...(torch.cpuSeconds
      ? { inferOnnxPerCpuSecond: round3(torch.cpuSeconds / (torch.count / 1000) / onnx.oneThreadCpuSecondsPer1000) }
      : {}),
  };
}

function ratiosOf(
  archs: BenchReport['archs'],
  torch: TorchBenchResult,
  ceiling: BenchReport['ceiling'],
): NonNullable<BenchReport['ratios']> {
  const out: NonNullable<BenchReport['ratios']> = {};
  for (const [arch, figures] of Object.entries(archs) as [Architecture, ArchFigures][]) {
    const theirs = torch.archs[arch];
    if (!theirs) continue;
    const torchGflops = theirs.train ? (theirs.train.imagesPerSecond * figures.flops.training) / 1e9 : null;
    out[arch] = {
      ...(figures.train && theirs.train
        ? { train: round3(figures.train.imagesPerSecond / theirs.train.imagesPerSecond) }
        : {}),
      ...(figures.trainReplicas && theirs.train
        ? { trainReplicas: round3(figures.trainReplicas.imagesPerSecond / theirs.train.imagesPerSecond) }
        : {}),
      ...(figures.trainOnnx && theirs.train
        ? { trainOnnx: round3(figures.trainOnnx.imagesPerSecond / theirs.train.imagesPerSecond) }
        : {}),
      ...(figures.infer && theirs.infer
        ? { infer: round3(figures.infer.parallelImagesPerSecondAfterStartup / theirs.infer.imagesPerSecond) }
        : {}),
      ...(figures.infer?.onnx && theirs.infer ? onnxRatios(figures.infer.onnx, theirs.infer) : {}),
      ...(torchGflops !== null ? { pytorchTrainGflops: round3(torchGflops) } : {}),
      ...(torchGflops !== null && ceiling
        ? { halfOfPytorchNeedsShareOfCeiling: round3(torchGflops / 2 / ceiling.allCoresGflops) }
        : {}),
    };
  }
  return out;
}
