import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Worker as NodeWorker } from 'node:worker_threads';
import { makePthreadWorkerClass, patchCpusForGlue, sharedMemoryWorks, writeWorkerFile } from './wasm-threads-glue';

/**
 * Multi-threaded wasm backend under Node.
 *
 * @tensorflow/tfjs-backend-wasm ships a threaded-SIMD build (emscripten pthreads: a pool of
 * workers sharing one SharedArrayBuffer heap, used by XNNPACK's pthreadpool), but it never
 * picks it under Node (tfjs issue #3830): the feature flag says "no" under Node, the pthread
 * workers are started from browser `blob:` URLs, and the main script those workers load is a
 * Blob holding the bundled factory, whose code refers to the bundle's module variables
 * (require$$0 = fs, ...) and cannot run on its own. Everything below works around exactly
 * those points of version 4.22.0, which is why that version is pinned and checked.
 */

/** The only version whose internals (flag names, glue, worker protocol) this was written against. */
export const PINNED_WASM_VERSION = '4.22.0';

/**
 * The emscripten glue pre-spawns 8 pthread workers (PTHREAD_POOL_SIZE) and the C++ side caps
 * XNNPACK's pool at 8 threads (max_num_threads in backend.cc), so more can never be used.
 */
export const MAX_WASM_THREADS = 8;

const PKG = '@tensorflow/tfjs-backend-wasm';
const require = createRequire(import.meta.url);

interface WasmModuleApi {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

/** What the backend object exposes of the emscripten module (BackendWasm.wasm). */
interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  HEAPU8?: Uint8Array;
  tfjs?: { getThreadsCount(): number };
}

interface ThreadsState {
  /** Threads asked for by enableWasmThreads, 0 if it was not (or could not be) enabled. */
  requested: number;
  /** Set once the backend is up: what XNNPACK's pool really has. */
  actual: number | null;
  /**
   * 'starting' from enableWasmThreads until wasmThreadsAfterInit ('running') or
   * disableWasmThreads ('abandoned'); 'off' when threads were never enabled.
   */
  phase: 'off' | 'starting' | 'running' | 'abandoned';
  /** Every pthread worker started, so that an abandoned start can end them. */
  workers: Set<NodeWorker>;
  /** Rejected by the first pthread worker that fails while the backend starts. */
  failure: Promise<never> | null;
  fail: ((error: Error) => void) | null;
  restoreCpus: (() => void) | null;
  /** The package's exports, kept from enableWasmThreads (the same module instance tfjs uses). */
  api: WasmModuleApi | null;
}

// Per JS realm, like the tfjs engine itself (a worker thread has its own).
const state: ThreadsState = {
  requested: 0,
  actual: null,
  phase: 'off',
  workers: new Set(),
  failure: null,
  fail: null,
  restoreCpus: null,
  api: null,
};

/**
 * Why enableWasmThreads last returned false (for the backend log), or null.
 */
export let wasmThreadsRefusal: string | null = null;

function refuse(reason: string): false {
  wasmThreadsRefusal = reason;
  return false;
}

/**
 * Selects the wasm backend's threaded-SIMD build with `threads` XNNPACK threads (the main
 * thread counts as one). Call before the wasm backend initialises (before
 * `tf.setBackend('wasm')`), then call wasmThreadsAfterInit once it has. Returns false, and
 * leaves the single-threaded SIMD build in place, when threads < 2, the package is not the
 * pinned version, the backend already started, or the runtime lacks something needed.
 * Threads are process-wide in effect (one wasm heap); call once per process.
 */
export async function enableWasmThreads(threads: number): Promise<boolean> {
  wasmThreadsRefusal = null;
  if (!Number.isInteger(threads) || threads < 2) return refuse(`${threads} thread(s) requested`);
  if (threads > MAX_WASM_THREADS) threads = MAX_WASM_THREADS;
  if (state.requested > 0) return true;

  let wasm: WasmModuleApi;
  let version: string;
  try {
    // Importing the package registers its flags (WASM_HAS_*), which must exist before they can be set.
    wasm = (await import(PKG)) as unknown as WasmModuleApi;
    version = (require(`${PKG}/package.json`) as { version: string }).version;
  } catch (error) {
    return refuse(`${PKG} did not load: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (version !== PINNED_WASM_VERSION || wasm.version_wasm !== PINNED_WASM_VERSION) {
    return refuse(`${PKG} is ${version}, threads are only wired for ${PINNED_WASM_VERSION}`);
  }
  if (typeof wasm.setThreadsCount !== 'function' || typeof wasm.getThreadsCount !== 'function')
    return refuse('setThreadsCount/getThreadsCount missing');
  // Too late once the backend instance exists: the build is chosen when it initialises.
  if (tf.findBackend('wasm') != null) return refuse('the wasm backend already started');
  if (!sharedMemoryWorks()) return refuse('no shared WebAssembly memory');
  // The package's locateFile turns the worker source into a Blob URL before our Worker sees it.
  if (typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function')
    return refuse('no Blob/URL.createObjectURL');
  // There is only a threaded *SIMD* build; without SIMD, init() falls back by itself, but say so.
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) return refuse('no wasm SIMD');

  // Globally visible Worker: Node 20 has none; if something else defined one, do not fight it.
  const existing = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  if (existing && existing.value !== NodeWorker) return refuse('a global Worker is already defined');

  let workerFile: string;
  let mainScript: string;
  try {
    // The package's own pthread worker source, the same text the bundle puts in its Blob.
    const source = (
      require(`${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`) as { wasmWorkerContents?: unknown }
    ).wasmWorkerContents;
    if (
      typeof source !== 'string' ||
      !source.includes('WasmBackendModuleThreadedSimd') ||
      !source.includes('importScripts')
    ) {
      return refuse('unexpected pthread worker source');
    }
    mainScript = require.resolve(`${PKG}/wasm-out/tfjs-backend-wasm-threaded-simd.js`);
    if (!fs.readFileSync(mainScript, 'utf8').startsWith('\nvar WasmBackendModuleThreadedSimd'))
      return refuse('unexpected threaded glue script');
    // The module keeps the source in a template literal, where the `\n` of the worker's
    // `text+"\n"` became a real newline; inside that string literal it is a syntax error.
    // The package's locateFile escapes it back the same way before making its Blob.
    workerFile = writeWorkerFile(source.replace(/\n/g, '\\n'), PINNED_WASM_VERSION);
  } catch (error) {
    return refuse(`pthread worker files: ${error instanceof Error ? error.message : String(error)}`);
  }

  state.failure = new Promise<never>((_, reject) => {
    state.fail = reject;
  });
  // Nobody may be listening yet (or ever, if the caller does not race it): not "unhandled".
  state.failure.catch(() => {});
  state.phase = 'starting';
  // The glue runs `globalThis.Worker = require('worker_threads').Worker` as it starts, which
  // would undo a plain assignment; an accessor that keeps our class and ignores that write
  // leaves the shim in place for allocateUnusedWorker/getNewWorker.
  const PthreadWorker = makePthreadWorkerClass(workerFile, mainScript, state, (error) => state.fail?.(error));
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => PthreadWorker,
    set: () => {},
  });

  // The flag's own test answers false under Node (#3830); init() reads it to pick the
  // threaded build and to give its factory the worker locateFile.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  state.restoreCpus = patchCpusForGlue(threads);
  // The thread count init_with_threads_count receives; -1 (the default) would mean num_cores.
  wasm.setThreadsCount(threads);
  state.requested = threads;
  state.api = wasm;
  return true;
}

/**
 * Rejects when a pthread worker fails while the threaded backend starts, or after
 * `timeoutMs` (start-up normally takes well under a second; a worker that never reports
 * "loaded" would otherwise leave `tf.setBackend` pending forever). Race it with
 * `tf.setBackend('wasm')`. Never settles if threads were not enabled.
 */
export function wasmThreadsStartFailure(timeoutMs: number): Promise<never> {
  const failure = state.failure;
  if (!failure || state.phase !== 'starting') return new Promise<never>(() => {});
  const timer = setTimeout(
    () => state.fail?.(new Error(`the threaded wasm backend did not start within ${timeoutMs} ms`)),
    timeoutMs,
  );
  // The timer must not keep a process alive that has finished everything else.
  timer.unref();
  failure.catch(() => {}).finally(() => clearTimeout(timer));
  return failure;
}

/**
 * Undoes enableWasmThreads so that the next `tf.setBackend('wasm')` starts the
 * single-threaded SIMD build: the fallback after the threaded start failed. The pthread
 * workers of the abandoned start are terminated (one that never loaded would otherwise keep
 * the process alive).
 */
export function disableWasmThreads(): void {
  if (state.requested === 0) return;
  state.phase = 'abandoned';
  for (const worker of state.workers) void worker.terminate();
  state.restoreCpus?.();
  state.restoreCpus = null;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  // -1 is the package's default: the core count the (single-threaded) build sees, i.e. 1.
  state.api?.setThreadsCount(-1);
  delete (globalThis as { Worker?: unknown }).Worker;
  state.requested = 0;
}

/**
 * Finishes the set-up after the wasm backend initialised (successfully or not) and returns
 * the thread count XNNPACK really uses (1 for the single-threaded build).
 *
 * It also makes the module's heap views follow growth made by any thread. In the threaded
 * build the heap is a growable SharedArrayBuffer: growth does not detach the old buffer, it
 * only leaves the old views short, and the glue refreshes `Module.HEAPU8` only when the
 * growing thread is the main one. The stock backend and Loupe's kernels
 * (typedArrayFromHeap) read `wasm.HEAPU8.buffer`, so a heap grown by a pool thread would
 * give them a view too short for new tensors; the getter re-creates the view when the
 * memory's size changed.
 */
export function wasmThreadsAfterInit(): number {
  if (state.phase === 'starting') state.phase = 'running';
  state.restoreCpus?.();
  state.restoreCpus = null;
  const backend = tf.findBackend('wasm') as unknown as { wasm?: EmscriptenModule } | null;
  const wasmModule = backend?.wasm;
  if (!wasmModule) {
    state.actual = null;
    return 0;
  }
  if (wasmModule.wasmMemory && wasmModule.wasmMemory.buffer instanceof SharedArrayBuffer) {
    const memory = wasmModule.wasmMemory;
    let view = wasmModule.HEAPU8 ?? new Uint8Array(memory.buffer);
    Object.defineProperty(wasmModule, 'HEAPU8', {
      configurable: true,
      enumerable: true,
      get: () => {
        if (view.byteLength !== memory.buffer.byteLength) view = new Uint8Array(memory.buffer);
        return view;
      },
      set: (next: Uint8Array) => {
        view = next;
      },
    });
  }
  // Asked of this backend's own module: the package-level getThreadsCount() reports whichever
  // module was constructed last, which after a fallback could be an abandoned threaded one.
  state.actual = wasmModule.tfjs?.getThreadsCount() ?? 1;
  return state.actual;
}

/** Threads the wasm backend uses: null before wasmThreadsAfterInit, or if wasm is not in use. */
export function wasmThreadsInUse(): number | null {
  return state.actual;
}
