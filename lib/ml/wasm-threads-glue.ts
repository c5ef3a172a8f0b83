import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker, type TransferListItem, type WorkerOptions } from 'node:worker_threads';

/**
 * The pieces of wasm-threads.ts that stand in for the browser under Node: the pthread worker
 * file, the Worker class the emscripten glue instantiates, and the core count it reads.
 * Each is written against @tensorflow/tfjs-backend-wasm 4.22.0 (see wasm-threads.ts).
 */

/** What a pthread Worker needs to know of the threads' start-up (wasm-threads.ts's state). */
export interface PthreadPool {
  /** Every pthread worker started, so that an abandoned start can end them. */
  workers: Set<NodeWorker>;
  readonly phase: 'off' | 'starting' | 'running' | 'abandoned';
}

/** Threads needs shared wasm memory and Atomics; Node 20 has them, but check rather than crash. */
export function sharedMemoryWorks(): boolean {
  try {
    if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * Writes the pthread worker source to a file: node's Worker cannot start from the `blob:` URL
 * the package's locateFile hands out. The file name carries a hash of the content, so that
 * concurrent processes write identical bytes and a stale file from another version is never
 * reused; write-then-rename keeps a half-written file from being loaded. `.cjs` because the
 * worker source is CommonJS (it calls require and reads __filename).
 */
export function writeWorkerFile(source: string, version: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `loupe-tfjs-wasm-${version}-pthread-${hash}.cjs`);
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === source) return file;
  const partial = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(partial, source);
  fs.renameSync(partial, file);
  return file;
}

/**
 * The Worker class the emscripten glue instantiates for its pthreads (it reads the global
 * `Worker`). Four changes from node's Worker, each for one browser assumption:
 * - a `blob:` URL (the package's worker source) becomes the file written by writeWorkerFile,
 *   started without the parent's execArgv;
 * - the `load` message names the threaded glue's script as a Blob of the bundled factory,
 *   which cannot run outside the bundle; it becomes the path of the package's standalone
 *   emscripten glue for the same build (wasm-out/...threaded-simd.js), which the worker
 *   reads with fs (its importScripts);
 * - `ref()` does nothing. The glue unrefs a worker once it has loaded, but refs it again
 *   while it runs a pthread, and XNNPACK's pool threads run for the life of the process: a
 *   process that enabled threads would never exit on its own. Staying unreferenced is safe
 *   because every parallel section is joined synchronously inside a kernel call on the main
 *   thread: once the event loop is empty, no pthread has work left. (Until it has loaded, a
 *   worker stays referenced as node made it, so start-up itself cannot be cut short.)
 * - until the backend is running, a worker's error or early exit is reported to
 *   `onFailure` instead of reaching the glue's handler, which rethrows it as an uncaught
 *   exception and kills the process; the caller then falls back to the single-threaded
 *   build (and the errors of the other workers of that abandoned start are dropped). Once
 *   running, the glue's behaviour is kept: a pthread dying mid-computation would otherwise
 *   leave the main thread waiting for it forever.
 */
export function makePthreadWorkerClass(
  workerFile: string,
  mainScript: string,
  pool: PthreadPool,
  onFailure: (error: Error) => void,
): typeof NodeWorker {
  return class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      const isBlob = typeof url === 'string' ? url.startsWith('blob:') : url.protocol === 'blob:';
      // execArgv: [] because workers inherit the parent's flags, and a loader there (tsx,
      // vitest) would try to transform the plain CommonJS worker file and fail to parse it.
      super(isBlob ? workerFile : url, isBlob ? { ...options, execArgv: [] } : options);
      pool.workers.add(this);
      this.on('exit', (code) => {
        pool.workers.delete(this);
        if (pool.phase === 'starting')
          onFailure(new Error(`a wasm pthread worker exited (code ${code}) while the backend started`));
      });
    }

    override ref(): void {
      // Deliberately not re-referenced: see the class comment.
    }

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter's own listener type
    override on(event: string | symbol, listener: (...args: any[]) => void): this {
      if (event !== 'error') return super.on(event, listener);
      return super.on(event, (error: unknown) => {
        if (pool.phase === 'running') return listener(error);
        onFailure(error instanceof Error ? error : new Error(String(error)));
      });
    }

    override postMessage(value: unknown, transferList?: readonly TransferListItem[]): void {
      if (
        value !== null &&
        typeof value === 'object' &&
        (value as { cmd?: unknown }).cmd === 'load' &&
        typeof (value as { urlOrBlob?: unknown }).urlOrBlob !== 'string'
      ) {
        value = { ...(value as object), urlOrBlob: mainScript };
      }
      super.postMessage(value, transferList);
    }
  };
}

/**
 * Makes the C++ side see enough cores. backend.cc computes, once, in a static initialiser
 * that runs when the wasm module starts, `num_cores = emscripten_num_logical_cores() / 2`
 * (it assumes hyper-threading) and caps the pool at that: on this 2-vCPU machine, 1 thread,
 * whatever setThreadsCount says. Under Node the glue answers with `os.cpus().length`, the
 * same `os` module object as ours, so os.cpus is patched to report 2 x threads, but only
 * for the call that comes from the glue (recognised on the stack) and only once; every
 * other caller sees the real list, and the patch removes itself after that call.
 */
export function patchCpusForGlue(threads: number): () => void {
  const original = os.cpus;
  const restore = () => {
    if (os.cpus === patched) os.cpus = original;
  };
  const patched = function cpus(): os.CpuInfo[] {
    const real = original.call(os);
    // The caller is two frames up; make sure a lowered stackTraceLimit cannot hide it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 10;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    if (!stack.includes('emscripten_num_logical_cores')) return real;
    restore();
    const first = real[0];
    if (!first || real.length >= threads * 2) return real;
    return Array.from({ length: threads * 2 }, (_, i) => real[i] ?? first);
  };
  os.cpus = patched;
  return restore;
}
