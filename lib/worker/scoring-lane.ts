import type { Db } from '@/db/client';
import { eq, not } from 'drizzle-orm';
import { isNewItemsScoreJob } from '@/lib/jobs/payloads';
import { modelVersions } from '@/db/schema';
import { initBackend, type BackendName } from '@/lib/ml/backend';
import { warmOnnxSession } from '@/lib/ml/onnx/worker-client';
import { getScorer, type Scorer } from '@/lib/ml/scorer';
import type { JobHandlers } from './run-job';
import { createWorker, type Worker, type WorkerOptions } from './worker-loop';

/** How often the lane looks for new items: an import is scored within about this, plus its scoring. */
export const SCORING_POLL_MS = 500;

/**
 * Scoring's own lane, two loops in the worker process beside the main one: one claims only the
 * score jobs of new items, the other only re-scores (after a promotion), so items imported while
 * the main loop trains are scored within a poll instead of after the training, and a re-score
 * (minutes on a large catalogue) never holds them up either. Both send their predictions to the
 * one scoring thread, where the new items' requests go before a re-score's waiting ones; a
 * re-score asks for small chunks (lib/learning/rescore-read.ts), so new items wait at most one
 * chunk. All loops share the process and its database connection; a claim is compare-and-set,
 * so a job is run by one of them. Their JavaScript runs between the training's steps.
 */
export function createScoringLane(options: Omit<WorkerOptions, 'handlers'> & { handlers: JobHandlers }): Worker {
  const { score } = options.handlers;
  const handlers: JobHandlers = score ? { score } : {};
  const newItems = createWorker({
    ...options,
    handlers,
    claimWhere: isNewItemsScoreJob,
    pollMs: Math.min(options.pollMs, SCORING_POLL_MS),
  });
  const rescores = createWorker({
    ...options,
    handlers,
    claimWhere: not(isNewItemsScoreJob),
    // The new-items loop schedules; one scheduling pass per poll is enough.
    schedule: false,
    log: (line) => (options.log ?? console.error)(`re-score: ${line}`),
  });
  return combineWorkers(newItems, rescores);
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
    async releaseCurrent() {
      const mainJob = await main.releaseCurrent();
      const laneJob = await lane.releaseCurrent();
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
  const active = await input.db
    .select({ name: modelVersions.name, weightsPath: modelVersions.weightsPath })
    .from(modelVersions)
    .where(eq(modelVersions.status, 'active'));
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
