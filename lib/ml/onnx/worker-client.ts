/**
 * ONNX Runtime scoring in worker threads. ONNX Runtime's run blocks the thread that calls it
 * (onnxruntime-node runs it synchronously after a setImmediate), so Loupe never calls it on a
 * thread with other work: one long-lived worker thread per thread count holds the sessions,
 * and the calling thread only copies the pixels over and waits. A dedicated worker (one per call)
 * serves the benchmark's one-session-per-core figure.
 */
import { Worker } from 'node:worker_threads';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { TestTimeAugmentation } from '@/lib/ml/predict';
import type { OnnxWorkerData, OnnxWorkerMessage, OnnxWorkerRequest } from '@/lib/ml/onnx/onnx-worker';

const WORKER_URL = new URL('./onnx-worker.mjs', import.meta.url);

interface Pending {
  resolve: (logits: Float32Array) => void;
  reject: (error: Error) => void;
  onProgress?: (done: number) => void;
  onReady?: () => void;
}

class OnnxWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead = false;

  constructor(
    threads: number,
    private readonly onDeath: () => void = () => {},
  ) {
    const data: OnnxWorkerData = { threads };
    this.worker = new Worker(WORKER_URL, {
      workerData: data,
      execArgv: [],
      env: { ...process.env, LOUPE_QUIET_BACKEND: '1' },
      // Its stdout would otherwise land on the parent's, which CLIs keep for their JSON.
      stdout: true,
    });
    this.worker.stdout.pipe(process.stderr);
    // Idle, it must not keep a finished process alive; busy, it must (see request()).
    this.worker.unref();
    this.worker.on('message', (message: OnnxWorkerMessage) => this.receive(message));
    this.worker.on('error', (error) => this.die(error));
    this.worker.on('exit', (code) => this.die(new Error(`ONNX Runtime worker exited (code ${code}).`)));
  }

  private receive(message: OnnxWorkerMessage): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    if (message.type === 'ready') waiting.onReady?.();
    else if (message.type === 'progress') waiting.onProgress?.(message.done);
    else {
      this.settle(message.id);
      if (message.type === 'done') waiting.resolve(message.logits);
      else waiting.reject(new Error(`ONNX Runtime worker failed: ${message.message}`));
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.dead) this.worker.unref();
  }

  private die(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath();
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  predict(
    request: Omit<Extract<OnnxWorkerRequest, { type: 'predict' }>, 'type' | 'id'>,
    events: Omit<Pending, 'resolve' | 'reject'>,
  ) {
    if (this.dead) return Promise.reject(new Error('ONNX Runtime worker is gone.'));
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, ...events });
      const message: OnnxWorkerRequest = { type: 'predict', id, ...request };
      this.worker.postMessage(message, [request.pixels.buffer as ArrayBuffer]);
    });
  }

  release(modelDir: string): void {
    if (!this.dead) this.worker.postMessage({ type: 'release', modelDir } satisfies OnnxWorkerRequest);
  }

  terminate(): Promise<number> {
    this.dead = true;
    return this.worker.terminate();
  }
}

const shared = globalThis as typeof globalThis & { __loupeOnnxWorkers?: Map<number, OnnxWorker> };

/** The process's long-lived ONNX Runtime worker for `threads` intra-op threads (a new one if the last died). */
function sharedWorker(threads: number): OnnxWorker {
  shared.__loupeOnnxWorkers ??= new Map();
  let worker = shared.__loupeOnnxWorkers.get(threads);
  if (!worker) {
    worker = new OnnxWorker(threads, () => shared.__loupeOnnxWorkers?.delete(threads));
    shared.__loupeOnnxWorkers.set(threads, worker);
  }
  return worker;
}

/** Drops the session of a model folder from the shared workers (a classifier was disposed). */
export function releaseOnnxSession(modelDir: string): void {
  for (const worker of shared.__loupeOnnxWorkers?.values() ?? []) worker.release(modelDir);
}

/**
 * Logits of `count` images of a saved model (its model.onnx, exported first if missing),
 * computed in a worker thread with `threads` intra-op threads (default 1); mirror averaging as
 * the model's meta.json says. `dedicated`: a worker of its own, ended after this call.
 */
export async function predictLogitsInOnnxWorker(options: {
  modelDir: string;
  pixels: Uint8Array;
  count: number;
  threads?: number;
  batchSize?: number;
  /** Default: what the model's meta.json chose. */
  testTimeAugmentation?: TestTimeAugmentation;
  dedicated?: boolean;
  onProgress?: (done: number, total: number) => void;
  onReady?: (workers: number) => void;
}): Promise<Float32Array> {
  if (options.count === 0) return new Float32Array(0);
  const threads = options.threads ?? 1;
  const worker = options.dedicated ? new OnnxWorker(threads) : sharedWorker(threads);
  try {
    return await worker.predict(
      {
        modelDir: options.modelDir,
        // A copy: the caller keeps its array, and the copy moves to the worker.
        pixels: options.pixels.slice(0, options.count * PIXELS_PER_IMAGE),
        count: options.count,
        batchSize: options.batchSize,
        testTimeAugmentation: options.testTimeAugmentation,
      },
      {
        onReady: () => options.onReady?.(1),
        onProgress: (done) => options.onProgress?.(done, options.count),
      },
    );
  } finally {
    if (options.dedicated) await worker.terminate();
  }
}
