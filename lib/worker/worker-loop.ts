import os from 'node:os';
import type { SQL } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import type { Db } from '@/db/client';
import type { Job, JobKind } from '@/db/schema';
import { claimJob, releaseJob } from '@/lib/jobs/lifecycle';
import { runClaimedJob, type JobHandlers, type JobOutcome, type RunningJob } from './run-job';
import { scheduleJobs } from './schedule-jobs';

export interface WorkerOptions {
  db: Db;
  handlers: JobHandlers;
  /** Claims only jobs that also meet this condition (the scoring lane's two loops). */
  claimWhere?: SQL;
  /** Unique per process: host, pid and a random suffix (a pid is reused after a restart). */
  owner?: string;
  leaseMs: number;
  pollMs: number;
  progressIntervalMs?: number;
  /** Run the scheduling pass (score and retrain jobs) before each claim; tests may turn it off. */
  schedule?: boolean;
  log?: (line: string) => void;
}

export interface Worker {
  readonly owner: string;
  /** One turn: schedule, claim one job of a handled kind, run it. 'idle' when nothing waited. */
  tick(): Promise<JobOutcome | 'idle'>;
  /** Turns until stop(); resolves when the loop has ended (after the job in hand, if any). */
  run(): Promise<void>;
  /** No new claims; the job in hand runs on unless released. */
  stop(): void;
  /** Gives the job in hand back to the queue at once (shutting down); its end is then not recorded. */
  releaseCurrent(): Promise<Job | null>;
  current(): Job | null;
}

export function workerOwner(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export function createWorker(options: WorkerOptions): Worker {
  const { db, handlers, leaseMs, pollMs } = options;
  const owner = options.owner ?? workerOwner();
  const log = options.log ?? ((line: string) => console.error(`[worker] ${line}`));
  const kinds = Object.keys(handlers) as JobKind[];
  let stopped = false;
  let running: RunningJob | null = null;
  let wake: (() => void) | null = null;

  async function tick(): Promise<JobOutcome | 'idle'> {
    if (options.schedule !== false) {
      try {
        for (const s of await scheduleJobs(db)) log(`queued ${s.kind} job ${s.jobId} for ${s.catalogue} (${s.why})`);
      } catch (error) {
        log(`scheduling failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (kinds.length === 0) return 'idle';
    const job = await claimJob(db, { owner, kinds, leaseMs, where: options.claimWhere });
    if (!job) return 'idle';
    const takeover = job.leaseExpiries > 0 ? `, taken over after ${job.leaseExpiries} lost worker(s)` : '';
    log(`job ${job.id} (${job.kind}) claimed, attempt ${job.attempts} of ${job.maxAttempts}${takeover}`);
    try {
      const outcome = await runClaimedJob({
        db,
        job,
        owner,
        leaseMs,
        handlers,
        log,
        progressIntervalMs: options.progressIntervalMs,
        onStart: (r) => (running = r),
      });
      if (outcome === 'succeeded') log(`job ${job.id} (${job.kind}) done`);
      return outcome;
    } finally {
      running = null;
    }
  }

  return {
    owner,
    tick,
    async run() {
      while (!stopped) {
        let outcome: JobOutcome | 'idle';
        try {
          outcome = await tick();
        } catch (error) {
          // The database itself failed (busy past its timeout, disk full): wait and try again.
          log(`worker turn failed: ${error instanceof Error ? error.message : String(error)}`);
          outcome = 'idle';
        }
        if (outcome === 'idle' && !stopped) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
      }
    },
    stop() {
      stopped = true;
      wake?.();
    },
    async releaseCurrent() {
      const held = running;
      if (!held) return null;
      held.released = true;
      await held.reporter.stop();
      try {
        await releaseJob(db, { jobId: held.job.id, owner });
        log(`job ${held.job.id} (${held.job.kind}) given back to the queue unfinished`);
      } catch (error) {
        log(
          `job ${held.job.id}: could not give it back (${error instanceof Error ? error.message : String(error)}); it is retried after its lease expires`,
        );
      }
      return held.job;
    },
    current: () => running?.job ?? null,
  };
}
