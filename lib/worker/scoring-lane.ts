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
