import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { getEnv } from '@/lib/env';
import { registerWasmTrainingKernels } from '@/lib/ml/kernels';

export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';

const require = createRequire(import.meta.url);
const state = globalThis as unknown as { __loupeBackend?: Promise<BackendName> };

async function tryTfjsNode(): Promise<boolean> {
  try {
    // Optional dependency: its install downloads libtensorflow, which fails without general
    // network access; npm then skips it and this require throws.
    require('@tensorflow/tfjs-node');
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
    if (!(await tf.setBackend('wasm'))) return false;
    registerWasmTrainingKernels();
    return true;
  } catch {
    return false;
  }
}

async function selectBackend(forced: BackendName | undefined): Promise<BackendName> {
  const order: BackendName[] = forced ? [forced] : ['tfjs-node', 'wasm', 'cpu'];
  for (const name of order) {
    const ok = name === 'tfjs-node' ? await tryTfjsNode() : name === 'wasm' ? await tryWasm() : await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      if (!process.env.LOUPE_QUIET_BACKEND) console.error(`[loupe] TensorFlow.js backend: ${name}`);
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

/** The backend chosen by initBackend, or null before it ran. */
export async function activeBackend(): Promise<BackendName | null> {
  return state.__loupeBackend ? state.__loupeBackend : null;
}
