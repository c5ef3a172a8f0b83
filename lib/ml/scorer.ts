/**
 * Which engine scores images: ONNX Runtime (native, the CPU's full vector width) when
 * `onnxruntime-node` loads, TensorFlow.js otherwise. Chosen once per process and logged;
 * LOUPE_SCORER=onnx|tfjs forces one (onnx then fails loudly if it cannot load).
 *
 * onnxruntime-node is loaded by one thread of a process only: its addon is not safe to load in
 * several threads (onnxruntime issue #24486; a worker once aborted with "terminate called after
 * throwing an instance of 'Napi::Error'" with it loaded on the main thread and in the scoring
 * thread). Loupe's processes load it in their scoring thread (lib/ml/onnx/worker-client.ts),
 * which is also where the choice probes it; a thread that loaded it itself (a test, the bench)
 * may not start that thread, and the other way round.
 */
import os from 'node:os';
import { getEnv } from '@/lib/env';
import { AppError } from '@/lib/errors';
import { probeOnnxRuntime } from '@/lib/ml/onnx/worker-client';

export type ScorerName = 'onnx' | 'tfjs';
export type OnnxRuntime = typeof import('onnxruntime-node');

export interface Scorer {
  name: ScorerName;
  /** Intra-op threads of each ONNX Runtime session (null for tfjs). */
  threads: number | null;
  /** One line for logs and reports, e.g. "onnxruntime-node 1.31.1 (2 threads)". */
  description: string;
}

const state = globalThis as typeof globalThis & {
  __loupeScorer?: Promise<Scorer>;
  /** This thread loaded onnxruntime-node. */
  __loupeOrtLoadedHere?: boolean;
  /** This thread started the scoring thread, which loads onnxruntime-node. */
  __loupeOrtThreadStarted?: boolean;
};

const SECOND_LOAD =
  'onnxruntime-node must be loaded by one thread of a process only (onnxruntime issue #24486: a second load can abort the process)';

/** For worker-client.ts: refuses to start the scoring thread where this thread loaded the addon. */
export function assertOnnxRuntimeNotLoadedHere(): void {
  if (state.__loupeOrtLoadedHere)
    throw new AppError('internal', `${SECOND_LOAD}; this thread loaded it, so it cannot start the scoring thread.`);
}

/** For worker-client.ts: from now on this thread may not load the addon itself. */
export function markOnnxThreadStarted(): void {
  state.__loupeOrtThreadStarted = true;
}

/**
 * Loads onnxruntime-node in the calling thread: the scoring thread, or a process that never
 * starts one (tests and the bench that time a session in-thread). A computed name, so that Next's
 * bundler does not try to bundle a native addon into the web server (which never scores).
 */
export async function loadOnnxRuntime(): Promise<OnnxRuntime> {
  if (state.__loupeOrtThreadStarted)
    throw new AppError('internal', `${SECOND_LOAD}; this process's scoring thread has loaded it.`);
  state.__loupeOrtLoadedHere = true;
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
      // Probed in the scoring thread, the one thread that may load the addon.
      const { version } = await probeOnnxRuntime();
      const threads = onnxThreads();
      const int8 = getEnv().LOUPE_ONNX_PRECISION === 'int8' ? ', int8 where calibrated' : '';
      return {
        name: 'onnx',
        threads,
        description: `onnxruntime-node ${version} (${threads} thread${threads === 1 ? '' : 's'}${int8})`,
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
  return { name: 'tfjs', threads: null, description: 'tfjs' };
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
