import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { badInput } from '@/lib/errors';
import { initBackend } from '@/lib/ml/backend';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { loadModel } from '@/lib/ml/model-store';
import { predictLogits } from '@/lib/ml/predict';
import type { PredictShardMessage, PredictShardRequest } from '@/lib/ml/predict-worker';

/**
 * Below this many images per worker, starting a worker (a fresh tfjs, wasm module and model
 * copy: about a second) costs more than the second core saves.
 */
export const MIN_IMAGES_PER_WORKER = 1000;

export interface PredictLogitsParallelOptions {
  /** A folder written by saveModel; every worker loads its own copy from it. */
  modelDir: string;
  pixels: Uint8Array;
  count: number;
  /** Worker threads to shard over; default os.availableParallelism(). 1 scores in-process. */
  workers?: number;
  /**
   * Always predict in worker threads (`workers` of them, default 1), however few the images:
   * the calling thread stays free, e.g. to train on one core while the other predicts.
   */
  background?: boolean;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Called once every worker has its backend and model loaded (in-process: once the model is
   * loaded), so a caller can tell start-up cost from scoring throughput.
   */
  onReady?: (workers: number) => void;
}

export interface Shard {
  start: number;
  count: number;
}

/** Splits `count` items into `parts` contiguous shards whose sizes differ by at most one. */
export function planShards(count: number, parts: number): Shard[] {
  const shards: Shard[] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(count / parts) + (i < count % parts ? 1 : 0);
    shards.push({ start, count: size });
    start += size;
  }
  return shards;
}

/** How many workers a call will really use: never more than the items justify. */
export function effectiveWorkers(count: number, requested?: number): number {
  const wanted = requested ?? os.availableParallelism();
  return Math.max(1, Math.min(wanted, Math.floor(count / MIN_IMAGES_PER_WORKER)));
}

/**
 * A plain-JS bootstrap that registers tsx inside the worker, then imports predict-worker.ts.
 * `execArgv: ['--import', 'tsx']` with the .ts file directly does not work on Node 20 (the
 * worker's entry is resolved before the loader applies: "Unknown file extension .ts").
 */
const WORKER_URL = new URL('./predict-worker.mjs', import.meta.url);

function runShard(
  request: PredictShardRequest,
  events: { onReady: () => void; onDone: (done: number) => void },
): { promise: Promise<Float32Array>; worker: Worker } {
  const worker = new Worker(WORKER_URL, {
    // The parent's flags (vitest's, tsx's, an inspector's) are no use to the bootstrap.
    execArgv: [],
    // One wasm thread per worker: the workers themselves are the parallelism.
    env: { ...process.env, LOUPE_WASM_THREADS: '1', LOUPE_QUIET_BACKEND: '1' },
    // A worker's console.log would otherwise land on the parent's stdout, which CLIs keep
    // for their JSON result; tfjs's own notices go to stderr with the rest of the logs.
    stdout: true,
  });
  worker.stdout.pipe(process.stderr);
  const promise = new Promise<Float32Array>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    worker.on('message', (message: PredictShardMessage) => {
      if (message.type === 'ready') events.onReady();
      else if (message.type === 'progress') events.onDone(message.done);
      else if (message.type === 'error') fail(new Error(`prediction worker failed: ${message.message}`));
      else if (!settled) {
        settled = true;
        resolve(message.logits);
      }
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) =>
      fail(new Error(`prediction worker exited (code ${code}) before returning its logits.`)),
    );
  });
  // The shard's pixels move to the worker instead of being cloned a second time.
  worker.postMessage(request, [request.pixels.buffer as ArrayBuffer]);
  return { promise, worker };
}

async function predictInProcess(options: PredictLogitsParallelOptions): Promise<Float32Array> {
  await initBackend();
  const { model, meta } = await loadModel(options.modelDir);
  options.onReady?.(1);
  try {
    return await predictLogits(model, options.pixels, options.count, {
      batchSize: options.batchSize,
      onProgress: options.onProgress,
      testTimeAugmentation: meta.testTimeAugmentation,
    });
  } finally {
    model.dispose();
  }
}

/**
 * The same logits as predictLogits (count x k, row-major, in input order), computed by
 * sharding the images over worker threads, each with its own single-threaded backend and its
 * own copy of the model from `modelDir`. Small inputs, or workers = 1, are scored in-process.
 */
export async function predictLogitsParallel(options: PredictLogitsParallelOptions): Promise<Float32Array> {
  const { pixels, count } = options;
  if (!Number.isInteger(count) || count < 0) throw badInput(`Expected a whole number of images, got ${count}.`);
  if (pixels.length < count * PIXELS_PER_IMAGE)
    throw badInput(`Expected ${count} images of ${PIXELS_PER_IMAGE} pixels, got ${pixels.length} bytes.`);
  const workers = options.background
    ? Math.max(1, Math.min(options.workers ?? 1, count))
    : effectiveWorkers(count, options.workers);
  if (count === 0) return new Float32Array(0);
  if (workers <= 1 && !options.background) return predictInProcess(options);

  const doneByShard = new Array<number>(workers).fill(0);
  let ready = 0;
  const shards = planShards(count, workers).map((shard, i) =>
    runShard(
      {
        modelDir: options.modelDir,
        // A copy per shard is unavoidable (the caller keeps its array); it is the only one.
        pixels: pixels.slice(shard.start * PIXELS_PER_IMAGE, (shard.start + shard.count) * PIXELS_PER_IMAGE),
        count: shard.count,
        batchSize: options.batchSize,
      },
      {
        onReady: () => {
          if (++ready === workers) options.onReady?.(workers);
        },
        onDone: (done) => {
          doneByShard[i] = done;
          options.onProgress?.(
            doneByShard.reduce((a, b) => a + b, 0),
            count,
          );
        },
      },
    ),
  );
  try {
    const parts = await Promise.all(shards.map((s) => s.promise));
    const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  } finally {
    await Promise.all(shards.map((s) => s.worker.terminate()));
  }
}
