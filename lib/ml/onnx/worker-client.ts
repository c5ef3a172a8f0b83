/**
 * ONNX Runtime scoring in one worker thread per process. ONNX Runtime's run blocks the thread
 * that calls it (onnxruntime-node runs it synchronously after a setImmediate), so Loupe never
 * calls it on a thread with other work; and its addon must be loaded by one thread of a process
 * only (onnxruntime issue #24486), so that thread is the only one: it probes whether ONNX Runtime
 * loads at all (lib/ml/scorer.ts), holds every session (one per model folder and thread count)
 * and serves requests one at a time, urgent ones first. The calling thread only copies the
 * pixels over and waits.
 */
import { Worker } from 'node:worker_threads';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { TestTimeAugmentation } from '@/lib/ml/predict';
import type { OnnxPriority, OnnxWorkerMessage, OnnxWorkerRequest } from '@/lib/ml/onnx/onnx-worker';
import { assertOnnxRuntimeNotLoadedHere, markOnnxThreadStarted } from '@/lib/ml/scorer';

export type { OnnxPriority } from '@/lib/ml/onnx/onnx-worker';

const WORKER_URL = new URL('./onnx-worker.mjs', import.meta.url);

interface Pending {
  resolve: (logits: Float32Array) => void;
  reject: (error: Error) => void;
  onProgress?: (done: number) => void;
  onReady?: () => void;
  onProbed?: (version: string) => void;
  onSessions?: (keys: string[]) => void;
}

type Request = OnnxWorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class OnnxWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead = false;

  constructor(private readonly onDeath: () => void) {
    this.worker = new Worker(WORKER_URL, {
      execArgv: [],
      env: { ...process.env, LOUPE_QUIET_BACKEND: '1' },
      // Its stdout would otherwise land on the parent's, which CLIs keep for their JSON.
      stdout: true,
    });
    this.worker.stdout.pipe(process.stderr);
    // Idle, it must not keep a finished process alive; busy, it must (see send()).
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
      else if (message.type === 'probed') {
        waiting.onProbed?.(message.version);
        waiting.resolve(new Float32Array(0));
      } else if (message.type === 'sessions') {
        waiting.onSessions?.(message.keys);
        waiting.resolve(new Float32Array(0));
      } else waiting.reject(new Error(`ONNX Runtime worker failed: ${message.message}`));
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

  send(request: Request, events: Omit<Pending, 'resolve' | 'reject'> = {}, transfer: ArrayBuffer[] = []) {
    if (this.dead) return Promise.reject(new Error('ONNX Runtime worker is gone.'));
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, ...events });
      this.worker.postMessage({ ...request, id } as OnnxWorkerRequest, transfer);
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

const shared = globalThis as typeof globalThis & { __loupeOnnxWorker?: OnnxWorker };

/** The process's ONNX Runtime thread (a new one if the last died). */
function onnxWorker(): OnnxWorker {
  if (!shared.__loupeOnnxWorker) {
    // This thread loaded the addon itself (a test, the bench): a second thread must not.
    assertOnnxRuntimeNotLoadedHere();
    markOnnxThreadStarted();
    shared.__loupeOnnxWorker = new OnnxWorker(() => (shared.__loupeOnnxWorker = undefined));
  }
  return shared.__loupeOnnxWorker;
}

/** Whether onnxruntime-node loads, tried in the scoring thread: its version, or the reason it does not. */
export async function probeOnnxRuntime(): Promise<{ version: string }> {
  let version = 'unknown version';
  await onnxWorker().send({ type: 'probe' }, { onProbed: (v) => (version = v) });
  return { version };
}

/** The sessions the scoring thread holds, least recently used first ("threads:modelDir"); none without the thread. */
export async function onnxSessionKeys(): Promise<string[]> {
  if (!shared.__loupeOnnxWorker) return [];
  let keys: string[] = [];
  await onnxWorker().send({ type: 'sessions' }, { onSessions: (k) => (keys = k) });
  return keys;
}

/** Loads a model's session in the scoring thread and runs one batch, so the first real score is not slowed by it. */
export async function warmOnnxSession(options: { modelDir: string; threads: number }): Promise<void> {
  await onnxWorker().send({ type: 'warm', ...options });
}

/** Drops the sessions of a model folder from the scoring thread (a classifier was disposed). */
export function releaseOnnxSession(modelDir: string): void {
  shared.__loupeOnnxWorker?.release(modelDir);
}

/** Ends the scoring thread (its sessions go with it); the next request starts a new one. */
export async function stopOnnxWorker(): Promise<void> {
  const worker = shared.__loupeOnnxWorker;
  shared.__loupeOnnxWorker = undefined;
  await worker?.terminate();
}

/**
 * Logits of `count` images of a saved model (its model.onnx, exported first if missing),
 * computed in the scoring thread by a session with `threads` intra-op threads (default 1);
 * mirror averaging as the model's meta.json says. `priority` 'background' (a re-score) lets
 * urgent requests waiting at the same time go first. `transfer`: the caller gives up `pixels`
 * (its buffer moves to the scoring thread, no copy); otherwise it is copied.
 */
export async function predictLogitsInOnnxWorker(options: {
  modelDir: string;
  pixels: Uint8Array;
  count: number;
  threads?: number;
  priority?: OnnxPriority;
  batchSize?: number;
  /** Default: what the model's meta.json chose. */
  testTimeAugmentation?: TestTimeAugmentation;
  transfer?: boolean;
  onProgress?: (done: number, total: number) => void;
  onReady?: (workers: number) => void;
}): Promise<Float32Array> {
  if (options.count === 0) return new Float32Array(0);
  const bytes = options.count * PIXELS_PER_IMAGE;
  const whole = options.pixels.byteOffset === 0 && options.pixels.buffer.byteLength === bytes;
  const pixels = options.transfer && whole ? options.pixels : options.pixels.slice(0, bytes);
  return onnxWorker().send(
    {
      type: 'predict',
      modelDir: options.modelDir,
      threads: options.threads ?? 1,
      priority: options.priority ?? 'urgent',
      pixels,
      count: options.count,
      batchSize: options.batchSize,
      testTimeAugmentation: options.testTimeAugmentation,
    },
    {
      onReady: () => options.onReady?.(1),
      onProgress: (done) => options.onProgress?.(done, options.count),
    },
    [pixels.buffer as ArrayBuffer],
  );
}
