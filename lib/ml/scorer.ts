/**
 * Which engine scores images: ONNX Runtime (native, the CPU's full vector width) when
 * `onnxruntime-node` loads, TensorFlow.js otherwise. Chosen once per process and logged;
 * LOUPE_SCORER=onnx|tfjs forces one (onnx then fails loudly if it cannot load).
 */
import os from 'node:os';
import { getEnv } from '@/lib/env';
import { AppError } from '@/lib/errors';

export type ScorerName = 'onnx' | 'tfjs';
export type OnnxRuntime = typeof import('onnxruntime-node');

export interface Scorer {
  name: ScorerName;
  /** The loaded runtime when name is 'onnx'. */
  ort: OnnxRuntime | null;
  /** Intra-op threads of each ONNX Runtime session (null for tfjs). */
  threads: number | null;
  /** One line for logs and reports, e.g. "onnxruntime-node 1.31.1 (2 threads)". */
  description: string;
}

const state = globalThis as typeof globalThis & { __loupeScorer?: Promise<Scorer> };

/**
 * Loads onnxruntime-node or explains why not. A computed name, so that Next's bundler does not
 * try to bundle a native addon into the web server (which never scores).
 */
export async function loadOnnxRuntime(): Promise<OnnxRuntime> {
  const name = ['onnxruntime', 'node'].join('-');
  const loaded = (await import(/* webpackIgnore: true */ name)) as OnnxRuntime & { default?: OnnxRuntime };
  return loaded.InferenceSession ? loaded : loaded.default!;
}

/** Threads per session: LOUPE_ONNX_THREADS, else every core (measured: see scripts/bench/infer-onnx.ts). */
export function onnxThreads(): number {
  return getEnv().LOUPE_ONNX_THREADS ?? os.availableParallelism();
}

async function selectScorer(forced: ScorerName | undefined): Promise<Scorer> {
  if (forced !== 'tfjs') {
    try {
      const ort = await loadOnnxRuntime();
      const threads = onnxThreads();
      const version = ort.env.versions?.node ?? 'unknown version';
      return {
        name: 'onnx',
        ort,
        threads,
        description: `onnxruntime-node ${version} (${threads} thread${threads === 1 ? '' : 's'})`,
      };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      if (forced === 'onnx')
        throw new AppError('internal', `LOUPE_SCORER=onnx but onnxruntime-node could not be loaded: ${why}`, {
          cause: error,
        });
      console.error(`[loupe] ONNX Runtime unavailable (${why.split('\n')[0]}); scoring with TensorFlow.js`);
    }
  }
  return { name: 'tfjs', ort: null, threads: null, description: 'tfjs' };
}

/** The process's scorer, chosen on first call and logged once to stderr. */
export function getScorer(): Promise<Scorer> {
  state.__loupeScorer ??= selectScorer(getEnv().LOUPE_SCORER).then((scorer) => {
    if (!process.env.LOUPE_QUIET_BACKEND) console.error(`[loupe] scorer: ${scorer.description}`);
    return scorer;
  });
  return state.__loupeScorer;
}

/** The scorer chosen so far in this process, or null before getScorer ran. */
export async function chosenScorer(): Promise<Scorer | null> {
  return state.__loupeScorer ?? null;
}
