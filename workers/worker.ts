import { monitorEventLoopDelay } from 'node:perf_hooks';
import { checkpointWal, getDb, WAL_CHECKPOINT_MS } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { getEnv } from '@/lib/env';
import { recoverImports } from '@/lib/import/staging';
import { wasmThreadCount } from '@/lib/ml/backend';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { exitOnSignals } from '@/lib/worker/shutdown';
import { createWorker } from '@/lib/worker/worker-loop';
import { combineWorkers, createScoringLane, prepareScoring } from '@/lib/worker/scoring-lane';
import { WORKER_HEARTBEAT_MS, writeWorkerStatus } from '@/lib/jobs/worker-status';

/**
 * `npm run worker`: the background process beside the web server. It schedules scoring and
 * retraining, claims one job at a time from the jobs table and runs it (lib/worker/).
 * SIGTERM/SIGINT: see lib/worker/shutdown.ts. Killed outright, it leaves an expiring lease
 * and the job is taken over by the next worker once the lease (LOUPE_JOB_LEASE_MS, 30 s)
 * expires, without using up one of its attempts.
 */
/** An event-loop stall this long is logged: timers (lease renewal, heartbeat, a signal's grace) wait on it. */
const STALL_LOG_MS = 3_000;

const env = getEnv();
const db = getDb();
await migrateDb(db);
const log = (line: string) => console.error(`[worker] ${line}`);
// The scorer, warmed up on every active model; tfjs starts here only when it scores (else with a training).
const prepared = await prepareScoring({ db, log });
const scorer = prepared.scorer;
const backend = prepared.backend ?? 'not loaded (ONNX Runtime scores)';
const startedAt = new Date().toISOString();
const loop = {
  db,
  handlers: WORKER_HANDLERS,
  leaseMs: env.LOUPE_JOB_LEASE_MS,
  pollMs: env.LOUPE_WORKER_POLL_MS,
  log,
};
// Score jobs also have a lane of their own, so new items are scored while a model trains.
const worker = combineWorkers(
  createWorker(loop),
  createScoringLane({ ...loop, log: (line) => log(`scoring lane: ${line}`) }),
);
log(`started on ${backend} (scorer: ${scorer.description}) as ${worker.owner}`);

// A timer, not the loop: a training job keeps the loop busy for minutes, and /api/v1/health
// would call the worker dead.
const stalls = monitorEventLoopDelay({ resolution: 50 });
stalls.enable();
const heartbeat = async () => {
  await endAbandonedImports();
  const job = worker.current();
  writeWorkerStatus({
    pid: process.pid,
    backend,
    scorer: scorer.name,
    ...(scorer.name === 'onnx' ? { onnxPrecision: env.LOUPE_ONNX_PRECISION } : {}),
    threads: wasmThreadCount(),
    startedAt,
    updatedAt: new Date().toISOString(),
    job: job ? { id: job.id, kind: job.kind } : null,
  });
  const stallMs = stalls.max / 1e6;
  if (stallMs >= STALL_LOG_MS)
    log(
      `the event loop was blocked for ${(stallMs / 1000).toFixed(1)} s${job ? ` during job ${job.id} (${job.kind})` : ''}`,
    );
  stalls.reset();
};
/** An import whose process died (lib/import/staging.ts) is rolled back or finished here. */
async function endAbandonedImports(): Promise<void> {
  try {
    const { rolledBack, finished } = await recoverImports(db);
    for (const id of rolledBack) log(`import ${id} was abandoned while its rows were checked; removed it`);
    for (const id of finished) log(`import ${id} was abandoned while its items were added; finished adding them`);
  } catch (error) {
    log(`could not end abandoned imports: ${error instanceof Error ? error.message : String(error)}`);
  }
}

await heartbeat();
const heartbeatTimer = setInterval(() => void heartbeat(), WORKER_HEARTBEAT_MS);
// The WAL checkpoint, here instead of in a web request's commit (db/client.ts says why every second).
const checkpointTimer = setInterval(() => {
  checkpointWal(db).catch((error: unknown) =>
    log(`WAL checkpoint failed (the next one retries): ${error instanceof Error ? error.message : String(error)}`),
  );
}, WAL_CHECKPOINT_MS);

exitOnSignals(worker, { graceMs: env.LOUPE_STOP_GRACE_MS, log });

await worker.run();
clearInterval(heartbeatTimer);
clearInterval(checkpointTimer);
process.exit(0);
