import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createModel, type Architecture } from '@/lib/ml/model';
import { loadModel, readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { predictLogitsParallel, effectiveWorkers } from '@/lib/ml/parallel-predict';
import { argmaxRows, predictLogits } from '@/lib/ml/predict';
import { trainModel, type LabelledImages, type TrainEngine } from '@/lib/ml/train';
import { measureOnnxInference, type OnnxInferenceFigures } from '@/scripts/bench/infer-onnx';

export interface TrainingFigures {
  imagesPerSecond: number;
  steps: number;
  batchSize: number;
  seconds: number;
}

export interface InferenceFigures {
  /** 'shipped': the production model from modelDir; 'fresh': untrained weights (speed only). */
  weights: 'shipped' | 'fresh';
  count: number;
  singleImagesPerSecond: number;
  /** Wall time as a caller sees it: worker start-up and model loading included. */
  parallelImagesPerSecond: number;
  /** Seconds until every worker had its backend and model loaded. */
  parallelStartupSeconds: number;
  /** Scoring throughput once all workers were ready (what a long scoring run approaches). */
  parallelImagesPerSecondAfterStartup: number;
  /** Workers predictLogitsParallel really used (1 means it scored in-process). */
  workers: number;
  /** Top-1 on the scored images; meaningful for shipped weights only. */
  accuracy: number;
  /** The same model exported to ONNX and run by ONNX Runtime (absent when it does not load). */
  onnx?: OnnxInferenceFigures & { overTfjs: { oneThread: number; allCores: number } };
  onnxReason?: string;
}

function firstImages(data: LabelledImages, count: number): LabelledImages {
  return { pixels: data.pixels.subarray(0, count * PIXELS_PER_IMAGE), labels: data.labels.subarray(0, count), count };
}

/**
 * Training throughput of `arch` through trainModel itself (augmentation, Adam, one loss read
 * per step, as production trains), on the first steps x batchSize images of `train`. A first
 * short run warms up kernel compilation and the wasm heap; trainModel's own figure excludes
 * its validation pass.
 */
export async function measureTraining(options: {
  arch: Architecture;
  train: LabelledImages;
  numClasses: number;
  steps: number;
  warmupSteps: number;
  batchSize: number;
  replicas?: number;
  /** trainModel's engine (default tfjs). */
  engine?: TrainEngine;
  onBatch?: (done: number, total: number) => void;
}): Promise<TrainingFigures> {
  const { batchSize } = options;
  const need = options.steps * batchSize;
  if (need > options.train.count)
    throw new Error(
      `${options.steps} steps of ${batchSize} need ${need} images; the training set has ${options.train.count}.`,
    );
  const model = createModel(options.arch, { numClasses: options.numClasses, seed: 1 });
  const validation = firstImages(options.train, Math.min(batchSize, options.train.count));
  try {
    const common = {
      model,
      validation,
      numClasses: options.numClasses,
      epochs: 1,
      batchSize,
      seed: 1,
      replicas: options.replicas,
      engine: options.engine,
      onBatch: options.onBatch,
    };
    if (options.warmupSteps > 0)
      await trainModel({ ...common, train: firstImages(options.train, options.warmupSteps * batchSize) });
    const result = await trainModel({ ...common, train: firstImages(options.train, need) });
    return {
      imagesPerSecond: result.imagesPerSecond,
      steps: options.steps,
      batchSize,
      seconds: need / result.imagesPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/**
 * A model folder to score with: the shipped model when `shippedDir` holds one of this
 * architecture, else fresh weights saved to a temporary folder (removed by `cleanup`).
 */
export async function modelDirFor(
  arch: Architecture,
  numClasses: number,
  shippedDir: string | null,
): Promise<{ dir: string; weights: 'shipped' | 'fresh'; cleanup: () => void }> {
  if (shippedDir && fs.existsSync(path.join(shippedDir, 'meta.json'))) {
    try {
      if (readModelMeta(shippedDir).arch === arch) return { dir: shippedDir, weights: 'shipped', cleanup: () => {} };
    } catch {
      // An unreadable shipped model is not the benchmark's business: fresh weights time the same.
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `loupe-bench-${arch}-`));
  await saveUntrainedModel(path.join(tmp, 'model'), {
    arch,
    classNames: Array.from({ length: numClasses }, (_, i) => `class ${i}`),
  });
  return {
    dir: path.join(tmp, 'model'),
    weights: 'fresh',
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}

/**
 * Inference throughput on `test`: in-process predictLogits on this process's backend (after
 * one warm-up batch), then predictLogitsParallel over `workers` threads, timed both end to end
 * and from the moment every worker was ready.
 */
export async function measureInference(options: {
  modelDir: string;
  weights: 'shipped' | 'fresh';
  test: LabelledImages;
  workers?: number;
}): Promise<InferenceFigures> {
  const { test } = options;
  const { model, meta } = await loadModel(options.modelDir);
  let logits: Float32Array;
  let singleSeconds: number;
  try {
    await predictLogits(model, test.pixels, Math.min(512, test.count));
    const started = performance.now();
    logits = await predictLogits(model, test.pixels, test.count);
    singleSeconds = (performance.now() - started) / 1000;
  } finally {
    model.dispose();
  }
  const started = performance.now();
  let readyAt = started;
  await predictLogitsParallel({
    modelDir: options.modelDir,
    pixels: test.pixels,
    count: test.count,
    workers: options.workers,
    onReady: () => (readyAt = performance.now()),
  });
  const finished = performance.now();
  const parallelSeconds = (finished - started) / 1000;

  const predicted = argmaxRows(logits, meta.classNames.length);
  let correct = 0;
  for (let i = 0; i < test.count; i++) if (predicted[i] === test.labels[i]) correct++;
  let onnx: Pick<InferenceFigures, 'onnx' | 'onnxReason'>;
  try {
    const figures = await measureOnnxInference({ modelDir: options.modelDir, pixels: test.pixels, count: test.count });
    const tfjsAllCores = test.count / ((finished - readyAt) / 1000);
    onnx = {
      onnx: {
        ...figures,
        overTfjs: {
          oneThread: Number((figures.oneThreadImagesPerSecond / (test.count / singleSeconds)).toFixed(3)),
          allCores: Number((figures.allCoresImagesPerSecond / tfjsAllCores).toFixed(3)),
        },
      },
    };
  } catch (error) {
    onnx = { onnxReason: error instanceof Error ? error.message : String(error) };
  }
  return {
    ...onnx,
    weights: options.weights,
    count: test.count,
    singleImagesPerSecond: test.count / singleSeconds,
    parallelImagesPerSecond: test.count / parallelSeconds,
    parallelStartupSeconds: (readyAt - started) / 1000,
    parallelImagesPerSecondAfterStartup: test.count / ((finished - readyAt) / 1000),
    workers: effectiveWorkers(test.count, options.workers),
    accuracy: correct / test.count,
  };
}
