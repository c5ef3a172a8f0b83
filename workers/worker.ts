import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { getEnv } from '@/lib/env';
import { initBackend, wasmThreadCount } from '@/lib/ml/backend';
import { getScorer } from '@/lib/ml/scorer';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { exitOnSignals } from '@/lib/worker/shutdown';
import { createWorker } from '@/lib/worker/worker-loop';
import { writeWorkerStatus } from '@/lib/jobs/worker-status';

/**
 * `npm run worker`: the background process beside the web server. It schedules scoring and
 * retraining, claims one job at a time from the jobs table and runs it (lib/worker/).
 * SIGTERM/SIGINT: see lib/worker/shutdown.ts. Killed outright, it leaves an expiring lease
 * and the job is retried by the next worker once the lease (LOUPE_JOB_LEASE_MS) expires.
 */
const STOP_GRACE_MS = 10_000;
const HEARTBEAT_MS = 10_000;

const env = getEnv();
const db = getDb();
migrateDb(db);
const backend = await initBackend();
const scorer = await getScorer();
const startedAt = new Date().toISOString();
const worker = createWorker({
  db,
  handlers: WORKER_HANDLERS,
  leaseMs: env.LOUPE_JOB_LEASE_MS,
  pollMs: env.LOUPE_WORKER_POLL_MS,
});
console.error(`[worker] started on ${backend} as ${worker.owner}`);

// A timer, not the loop: a training job keeps the loop busy for minutes, and /api/v1/health
// would call the worker dead.
const heartbeat = () => {
  const job = worker.current();
  writeWorkerStatus({
    pid: process.pid,
    backend,
    scorer: scorer.name,
    threads: wasmThreadCount(),
    startedAt,
    updatedAt: new Date().toISOString(),
    job: job ? { id: job.id, kind: job.kind } : null,
  });
};
heartbeat();
const heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);

exitOnSignals(worker, { graceMs: STOP_GRACE_MS, log: (line) => console.error(`[worker] ${line}`) });

await worker.run();
clearInterval(heartbeatTimer);
process.exit(0);
