import type { Db } from '@/db/client';
import { eq } from 'drizzle-orm';
import { modelVersions } from '@/db/schema';
import { initBackend, type BackendName } from '@/lib/ml/backend';
import { warmOnnxSession } from '@/lib/ml/onnx/worker-client';
import { getScorer, type Scorer } from '@/lib/ml/scorer';
import type { JobHandlers } from './run-job';
import { createWorker, type Worker, type WorkerOptions } from './worker-loop';

/**
 * Scoring's own lane: a second loop in the worker process that claims only score jobs (and
 * runs the scheduling pass, which is what queues them), so items imported while the main
 * loop trains a model are scored within one poll instead of after the training. Both loops
 * share the process and its database connection; a claim is compare-and-set, so a job is
 * run by one of them. The lane's scoring runs between the training's steps (each step
 * awaits, and ONNX Runtime scores a batch in tens of milliseconds).
 */
export function createScoringLane(options: Omit<WorkerOptions, 'handlers'> & { handlers: JobHandlers }): Worker {
  const { score } = options.handlers;
  return createWorker({ ...options, handlers: score ? { score } : {} });
}

/** The main loop and the lane as one Worker: run, stop and give back both; the job in hand is the main loop's, else the lane's. */
export function combineWorkers(main: Worker, lane: Worker): Worker {
  return {
    owner: main.owner,
    tick: () => main.tick(),
    async run() {
      await Promise.all([main.run(), lane.run()]);
    },
    stop() {
      main.stop();
      lane.stop();
    },
    releaseCurrent() {
      const mainJob = main.releaseCurrent();
      const laneJob = lane.releaseCurrent();
      return mainJob ?? laneJob;
    },
    current: () => main.current() ?? lane.current(),
  };
}

/**
 * What the worker does before its loops start, so that the first score job pays for neither:
 * chooses the scorer (lib/ml/scorer.ts) and loads every active model's ONNX session in the
 * scoring thread, running one batch through it (the first run of a session plans its memory and
 * took ~1 s). TensorFlow.js's backend starts here only when tfjs scores; with ONNX Runtime it
 * starts with the first training (its wasm heap is ~100 MB of resident memory a scoring process
 * does not need). Returns the scorer and the tfjs backend, or null when not started.
 */
export async function prepareScoring(input: {
  db: Db;
  log?: (line: string) => void;
}): Promise<{ scorer: Scorer; backend: BackendName | null }> {
  const scorer = await getScorer();
  if (scorer.name === 'tfjs') return { scorer, backend: await initBackend() };
  const active = input.db
    .select({ name: modelVersions.name, weightsPath: modelVersions.weightsPath })
    .from(modelVersions)
    .where(eq(modelVersions.status, 'active'))
    .all();
  for (const model of active) {
    const started = performance.now();
    try {
      await warmOnnxSession({ modelDir: model.weightsPath, threads: scorer.threads ?? 1 });
      input.log?.(`scorer warmed up on ${model.name} in ${Math.round(performance.now() - started)} ms`);
    } catch (error) {
      // A model that cannot load fails its score job later, with the reason; start anyway.
      input.log?.(
        `could not warm up the scorer on ${model.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return { scorer, backend: null };
}
