import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { getEnv } from '@/lib/env';
import { registerWasmTrainingKernels } from '@/lib/ml/kernels';
import {
  disableWasmThreads,
  enableWasmThreads,
  wasmThreadsAfterInit,
  wasmThreadsInUse,
  wasmThreadsRefusal,
  wasmThreadsStartFailure,
} from '@/lib/ml/wasm-threads';

export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);
const state = globalThis as unknown as { __loupeBackend?: Promise<BackendName> };

/**
 * Threads for the wasm backend when LOUPE_WASM_THREADS is unset: the single-threaded build.
 * Two threads only pay when a core is idle (measured 1.2-1.4x per cnn training step, ~1.1x
 * inference, 1.7x on a lone conv2d), and on this machine both cores are usually taken (two
 * training runs side by side, scoring sharded over two worker threads), where they gained
 * nothing and cost ~90 MB (8 pthread workers) and ~0.3 s of start-up. Opt in with
 * LOUPE_WASM_THREADS=2 for a lone training or scoring process.
 */
const DEFAULT_WASM_THREADS = 1;

/** Generous: the threaded start takes ~0.3 s; this only bounds a start that would never end. */
const WASM_THREADS_START_TIMEOUT_MS = 60_000;

/** Why threads were asked for but not used, for the backend log line. */
let wasmThreadsNote: string | null = null;

/**
 * LOUPE_WASM_THREADS, or the default. Worker threads (parallel scoring shards) get 1 unless
 * told otherwise: there the shards themselves are the parallelism, and each threaded
 * backend would start its own pool of pthread workers.
 */
function wasmThreadsWanted(): number {
  const configured = getEnv().LOUPE_WASM_THREADS;
  if (configured !== undefined) return configured;
  return isMainThread ? DEFAULT_WASM_THREADS : 1;
}

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional dependency: its install downloads libtensorflow, which fails without general
    // network access; npm then skips it and this require throws.
    // A computed name: bundlers (Next) must not try to resolve a package that may be absent.
    const nativePackage = ['@tensorflow', 'tfjs-node'].join('/');
    require(nativePackage);
    return await tf.setBackend('tensorflow');
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dist + path.sep);
    const threads = wasmThreadsWanted();
    const threaded = threads > 1 && (await enableWasmThreads(threads));
    if (threads > 1 && !threaded) wasmThreadsNote = `threads unavailable: ${wasmThreadsRefusal ?? 'unknown reason'}`;
    let ok: boolean;
    if (threaded) {
      try {
        ok = await Promise.race([tf.setBackend('wasm'), wasmThreadsStartFailure(WASM_THREADS_START_TIMEOUT_MS)]);
      } catch (error) {
        wasmThreadsNote = `threads failed: ${error instanceof Error ? error.message : String(error)}`;
        ok = false;
      }
      // Fall back to the single-threaded build rather than to the much slower cpu backend.
      if (!ok) {
        disableWasmThreads();
        ok = await tf.setBackend('wasm');
      }
    } else {
      ok = await tf.setBackend('wasm');
    }
    if (!ok) return false;
    wasmThreadsAfterInit();
    registerWasmTrainingKernels();
    return true;
  } catch (error) {
    console.error(
      `[loupe] the wasm backend could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    return false;
  }
}

/** What the one-line backend log says: the name, and for wasm its thread count. */
function describeBackend(name: BackendName): string {
  if (name !== 'wasm') return name;
  const threads = wasmThreadsInUse() ?? 1;
  return `wasm (${threads} thread${threads === 1 ? '' : 's'}${wasmThreadsNote ? `; ${wasmThreadsNote}` : ''})`;
}

async function selectBackend(forced: BackendName | undefined): Promise<BackendName> {
  const order: BackendName[] = forced ? [forced] : ['tfjs-node', 'wasm', 'cpu'];
  for (const name of order) {
    const ok =
      name === 'tfjs-node' ? await tryTfjsNode() : name === 'wasm' ? await tryWasm() : await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      if (!process.env.LOUPE_QUIET_BACKEND) console.error(`[loupe] TensorFlow.js backend: ${describeBackend(name)}`);
      return name;
    }
    if (forced) throw new Error(`The TensorFlow.js backend "${forced}" (LOUPE_TF_BACKEND) could not be started.`);
  }
  throw new Error('No TensorFlow.js backend could be started.');
}

/**
 * Picks the fastest backend that loads (tfjs-node, then wasm with Loupe's training kernels,
 * then pure-JS cpu), once per process; LOUPE_TF_BACKEND forces one. Logged once to stderr.
 */
export function initBackend(): Promise<BackendName> {
  state.__loupeBackend ??= selectBackend(getEnv().LOUPE_TF_BACKEND);
  return state.__loupeBackend;
}

/**
 * Threads the wasm backend computes with (1: single-threaded build), or null when wasm is
 * not the backend in use (or initBackend has not finished). For /api/v1/health and the bench.
 */
export function wasmThreadCount(): number | null {
  // Set only by a successful wasm start (tryWasm), so null for tfjs-node and cpu.
  return wasmThreadsInUse();
}
