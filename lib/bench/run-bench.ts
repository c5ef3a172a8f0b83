import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { readIdxSplit } from '@/lib/data/idx';
import { measureInference, measureTraining, modelDirFor, type InferenceFigures, type TrainingFigures } from '@/lib/bench/measure';
import { findTorchPython, runTorchBench, type TorchBenchResult } from '@/lib/bench/pytorch';
import { initBackend } from '@/lib/ml/backend';
import { createModel, type Architecture } from '@/lib/ml/model';

export const BENCH_SECTIONS = ['train', 'infer', 'pytorch'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

export interface BenchOptions {
  archs: Architecture[];
  sections: BenchSection[];
  quick: boolean;
  datasetDir: string;
  /** Where the shipped model lives; used for `cnn` inference when it holds a cnn. */
  shippedModelDir: string;
  log: (line: string) => void;
}

/** Sizes: a few hundred steps after warm-up, the whole t10k set; --quick is a smoke test. */
const FULL = { trainSteps: 200, warmupSteps: 5, inferCount: 10_000 };
const QUICK = { trainSteps: 3, warmupSteps: 1, inferCount: 2_500 };
const BATCH_SIZE = 128;
const TORCH_THREADS = 2;
const NUM_CLASSES = 10;

export interface ArchFigures {
  params: number;
  train?: TrainingFigures;
  infer?: InferenceFigures;
}

export interface BenchReport {
  machine: { cpuModel: string; cores: number; node: string; platform: string; backend: string; tfjs: string; loadAverage1m: number };
  settings: { quick: boolean; batchSize: number; trainSteps: number; warmupSteps: number; inferCount: number; augment: true; dataset: string; torchThreads: number };
  archs: Partial<Record<Architecture, ArchFigures>>;
  pytorch: (TorchBenchResult & { executable: string }) | null;
  pytorchReason?: string;
  /** loupe / pytorch per architecture; infer compares Loupe on both cores with PyTorch on two threads. */
  ratios: Partial<Record<Architecture, { train?: number; infer?: number }>> | null;
  notes: string[];
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { log } = options;
  const sizes = options.quick ? QUICK : FULL;
  const backend = await initBackend();
  const wants = (s: BenchSection) => options.sections.includes(s);
  const archs: BenchReport['archs'] = {};

  const train = wants('train') ? readIdxSplit(options.datasetDir, 'train') : null;
  const test = wants('infer') ? readIdxSplit(options.datasetDir, 't10k') : null;
  for (const arch of options.archs) {
    const params = createModelParams(arch);
    const figures: ArchFigures = { params };
    if (train) {
      log(`${arch}: training ${sizes.warmupSteps} warm-up + ${sizes.trainSteps} steps of ${BATCH_SIZE}`);
      figures.train = await measureTraining({
        arch, numClasses: NUM_CLASSES, steps: sizes.trainSteps, warmupSteps: sizes.warmupSteps, batchSize: BATCH_SIZE,
        train: { pixels: train.images.pixels, labels: train.labels, count: train.images.count },
      });
    }
    if (test) {
      const count = Math.min(sizes.inferCount, test.images.count);
      const model = await modelDirFor(arch, NUM_CLASSES, arch === 'cnn' ? options.shippedModelDir : null);
      log(`${arch}: inference on ${count} t10k images (${model.weights} weights)`);
      try {
        figures.infer = await measureInference({
          modelDir: model.dir, weights: model.weights,
          test: { pixels: test.images.pixels.subarray(0, count * 784), labels: test.labels.subarray(0, count), count },
        });
      } finally {
        model.cleanup();
      }
    }
    archs[arch] = figures;
  }

  const torch = wants('pytorch') ? benchTorch(options, sizes) : { result: null, reason: 'not requested (--only)' };
  const cpus = os.cpus();
  return {
    machine: {
      cpuModel: cpus[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}`,
      backend, tfjs: tf.version.tfjs, loadAverage1m: Number(os.loadavg()[0]?.toFixed(2)),
    },
    settings: { quick: options.quick, batchSize: BATCH_SIZE, ...sizes, augment: true, dataset: options.datasetDir, torchThreads: TORCH_THREADS },
    archs,
    pytorch: torch.result,
    ...(torch.result ? {} : { pytorchReason: torch.reason }),
    ratios: torch.result ? ratiosOf(archs, torch.result) : null,
    notes: [
      'train: images/s of trainModel (augmentation, Adam, batch 128) on real Fashion-MNIST train images, after warm-up steps, on this process\'s backend.',
      'infer.single: predictLogits in this process; infer.parallel: predictLogitsParallel wall time including worker start-up and model loading; infer.parallelAfterStartup: from the moment every worker had its model (ratios.infer uses this one: PyTorch is timed after its model is built and warm).',
      'A load average near or above the core count means something else was running: figures are then low.',
    ],
  };
}

function createModelParams(arch: Architecture): number {
  const model = createModel(arch, { numClasses: NUM_CLASSES });
  const params = model.countParams();
  model.dispose();
  return params;
}

function benchTorch(options: BenchOptions, sizes: typeof FULL): { result: BenchReport['pytorch']; reason: string } {
  const sections = (['train', 'infer'] as const).filter((s) => options.sections.includes(s));
  if (sections.length === 0) return { result: null, reason: 'nothing to compare: neither train nor infer was requested' };
  const found = findTorchPython();
  if (found.python === null) return { result: null, reason: found.reason };
  options.log(`pytorch ${found.version} (${found.python}), ${TORCH_THREADS} threads`);
  try {
    const result = runTorchBench({
      python: found.python, datasetDir: options.datasetDir, archs: options.archs, sections, threads: TORCH_THREADS, batchSize: BATCH_SIZE,
      trainSteps: sizes.trainSteps, warmupSteps: sizes.warmupSteps, inferCount: sizes.inferCount, timeoutMs: options.quick ? 180_000 : 1_800_000,
    });
    return { result: { ...result, executable: found.python }, reason: '' };
  } catch (error) {
    return { result: null, reason: error instanceof Error ? error.message : String(error) };
  }
}

function ratiosOf(archs: BenchReport['archs'], torch: TorchBenchResult): NonNullable<BenchReport['ratios']> {
  const out: NonNullable<BenchReport['ratios']> = {};
  for (const [arch, figures] of Object.entries(archs) as [Architecture, ArchFigures][]) {
    const theirs = torch.archs[arch];
    if (!theirs) continue;
    const round = (x: number) => Number(x.toFixed(3));
    out[arch] = {
      ...(figures.train && theirs.train ? { train: round(figures.train.imagesPerSecond / theirs.train.imagesPerSecond) } : {}),
      ...(figures.infer && theirs.infer ? { infer: round(figures.infer.parallelImagesPerSecondAfterStartup / theirs.infer.imagesPerSecond) } : {}),
    };
  }
  return out;
}
