import { initBackend, type BackendName } from '@/lib/ml/backend';
import { softmaxRows } from '@/lib/ml/calibration';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { loadModel, readModelMeta, type ModelMeta } from '@/lib/ml/model-store';
import { ensureInt8OnnxModel, ensureOnnxModel } from '@/lib/ml/onnx/model-file';
import { onnxPrecisionFor, type OnnxPrecision } from '@/lib/ml/onnx/precision';
import { predictLogitsInOnnxWorker, releaseOnnxSession } from '@/lib/ml/onnx/worker-client';
import { predictLogitsParallel, type PredictLogitsParallelOptions } from '@/lib/ml/parallel-predict';
import { predictLogits, type PredictLogitsOptions } from '@/lib/ml/predict';
import { getScorer, type ScorerName } from '@/lib/ml/scorer';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';

export interface Prediction {
  /** Calibrated probabilities, one per class (softmax of logits / temperature). */
  probs: Float32Array;
  predictedClass: number;
  /** Calibrated probability of the predicted class. */
  confidence: number;
  /** Calibrated top-1 minus top-2 probability: small means torn between two classes. */
  margin: number;
}

export interface Classifier {
  meta: ModelMeta;
  /** What computes the logits: ONNX Runtime or TensorFlow.js. */
  scorer: ScorerName;
  /** 'onnxruntime', or the TensorFlow.js backend. */
  backend: BackendName | 'onnxruntime';
  /** ONNX Runtime's precision for this model (lib/ml/onnx/precision.ts); null with TensorFlow.js. */
  precision: OnnxPrecision | null;
  predictLogits(pixels: Uint8Array, count: number, options?: PredictLogitsOptions): Promise<Float32Array>;
  predict(pixels: Uint8Array, count: number, options?: PredictLogitsOptions): Promise<Prediction[]>;
  dispose(): void;
}

/** Turns calibrated probability rows into per-item predictions. */
export function toPredictions(probs: Float32Array, k: number): Prediction[] {
  const out: Prediction[] = [];
  for (let row = 0; row < probs.length; row += k) {
    const p = probs.slice(row, row + k);
    let first = 0;
    for (let j = 1; j < k; j++) if (p[j]! > p[first]!) first = j;
    let second = -1;
    for (let j = 0; j < k; j++) if (j !== first && (second < 0 || p[j]! > p[second]!)) second = j;
    out.push({
      probs: p,
      predictedClass: first,
      confidence: p[first]!,
      margin: p[first]! - (second < 0 ? 0 : p[second]!),
    });
  }
  return out;
}

function checkInput(pixels: Uint8Array, count: number): void {
  if (pixels.length < count * PIXELS_PER_IMAGE)
    throw badInput(`Expected ${count} images of ${PIXELS_PER_IMAGE} pixels, got ${pixels.length} bytes.`);
}

const warnedUncalibrated = new Set<string>();

/** Once per folder and process: int8 was asked for, but this version is scored in float32. */
function warnUncalibrated(dir: string): void {
  if (warnedUncalibrated.has(dir)) return;
  warnedUncalibrated.add(dir);
  console.error(
    `[loupe] ${dir} has no int8 calibration, so it is scored in float32; "npm run quantize-model -- --model ${dir}" adds one.`,
  );
}

type LogitsEngine = Pick<Classifier, 'scorer' | 'backend' | 'precision' | 'predictLogits' | 'dispose'>;

/**
 * ONNX Runtime in the process's long-lived scoring thread (lib/ml/onnx/worker-client.ts): its
 * run blocks the thread that calls it, and this thread has other work (the worker's job loops,
 * a training between whose steps new items are scored).
 */
async function loadOnnxEngine(
  dir: string,
  meta: ModelMeta,
  scorer: Awaited<ReturnType<typeof getScorer>>,
): Promise<LogitsEngine> {
  // Exported here (once, if missing), so that a model the exporter refuses fails at load.
  ensureOnnxModel(dir);
  const precision = onnxPrecisionFor(meta);
  if (precision === 'int8') ensureInt8OnnxModel(dir);
  else if (getEnv().LOUPE_ONNX_PRECISION === 'int8') warnUncalibrated(dir);
  const threads = scorer.threads ?? 1;
  return {
    scorer: 'onnx',
    backend: 'onnxruntime',
    precision,
    predictLogits: (pixels, count, options = {}) =>
      predictLogitsInOnnxWorker({
        modelDir: dir,
        pixels,
        count,
        threads,
        batchSize: options.batchSize,
        testTimeAugmentation: options.testTimeAugmentation ?? meta.testTimeAugmentation,
        onProgress: options.onProgress,
      }),
    dispose: () => releaseOnnxSession(dir),
  };
}

async function loadTfjsEngine(dir: string): Promise<LogitsEngine> {
  const backend = await initBackend();
  const { model, meta } = await loadModel(dir);
  return {
    scorer: 'tfjs',
    backend,
    precision: null,
    predictLogits: (pixels, count, options) =>
      predictLogits(model, pixels, count, { testTimeAugmentation: meta.testTimeAugmentation, ...options }),
    dispose: () => model.dispose(),
  };
}

/**
 * Loads a saved model for serving with the process's scorer (ONNX Runtime when it loads, else
 * TensorFlow.js; see lib/ml/scorer.ts). A version without model.onnx is exported on first use.
 * Logits of either scorer go through the same temperature and mirror-averaging rule.
 */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const scorer = await getScorer();
  const meta = readModelMeta(dir);
  const engine = scorer.name === 'onnx' ? await loadOnnxEngine(dir, meta, scorer) : await loadTfjsEngine(dir);
  const k = meta.classNames.length;
  const logitsOf = (pixels: Uint8Array, count: number, options?: PredictLogitsOptions) => {
    checkInput(pixels, count);
    return engine.predictLogits(pixels, count, options);
  };
  return {
    meta,
    scorer: engine.scorer,
    backend: engine.backend,
    precision: engine.precision,
    predictLogits: logitsOf,
    async predict(pixels, count, options) {
      const logits = await logitsOf(pixels, count, options);
      return toPredictions(softmaxRows(logits, k, meta.temperature), k);
    },
    dispose: engine.dispose,
  };
}

/**
 * Classifiers kept loaded per process, least recently used first: a version's files never
 * change, so one load serves every later call, but a long-lived worker or server sees a new
 * version with every training; without a bound each stayed loaded (with TensorFlow.js, its
 * weights; with ONNX Runtime, its sessions, which lib/ml/onnx/onnx-worker.ts also bounds).
 */
export const MAX_CACHED_CLASSIFIERS = 4;

interface CachedClassifier {
  loaded: Promise<Classifier>;
  /** Calls of withClassifier still running with it: it is not disposed under them. */
  users: number;
}

const cache = globalThis as typeof globalThis & { __loupeClassifierCache?: Map<string, CachedClassifier> };

/**
 * Runs `run` with the loaded classifier of a model folder, from the process's cache (loaded on
 * first use; a failed load is not cached, so the next call tries again). When the cache holds
 * more than MAX_CACHED_CLASSIFIERS, the least recently used ones that no call is using are
 * disposed.
 */
export async function withClassifier<T>(dir: string, run: (classifier: Classifier) => Promise<T>): Promise<T> {
  const entries = (cache.__loupeClassifierCache ??= new Map());
  let entry = entries.get(dir);
  if (entry) entries.delete(dir);
  else {
    const loaded = loadClassifier(dir);
    entry = { loaded, users: 0 };
    loaded.catch(() => {
      if (entries.get(dir)?.loaded === loaded) entries.delete(dir);
    });
  }
  entries.set(dir, entry);
  entry.users++;
  try {
    return await run(await entry.loaded);
  } finally {
    entry.users--;
    evictIdleClassifiers(entries);
  }
}

function evictIdleClassifiers(entries: Map<string, CachedClassifier>): void {
  for (const [dir, entry] of entries) {
    if (entries.size <= MAX_CACHED_CLASSIFIERS) return;
    if (entry.users > 0) continue;
    entries.delete(dir);
    entry.loaded.then((classifier) => classifier.dispose()).catch(() => {});
  }
}

/**
 * Logits for many images of a saved model with the process's scorer, using both cores:
 * ONNX Runtime in its scoring thread with one intra-op thread per core (one thread only when
 * `background` says the caller is busy on the other core, e.g. training); TensorFlow.js
 * shards the images over worker threads (lib/ml/parallel-predict.ts).
 */
export async function predictLogitsWithScorer(options: PredictLogitsParallelOptions): Promise<Float32Array> {
  const scorer = await getScorer();
  if (scorer.name === 'tfjs') return predictLogitsParallel(options);
  checkInput(options.pixels, options.count);
  if (options.background) return predictLogitsInOnnxWorker({ ...options, threads: 1 });
  return withClassifier(options.modelDir, (classifier) => {
    options.onReady?.(1);
    return classifier.predictLogits(options.pixels, options.count, {
      batchSize: options.batchSize,
      onProgress: options.onProgress,
    });
  });
}
