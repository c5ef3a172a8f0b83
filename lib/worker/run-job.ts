import type { Db } from '@/db/client';
import type { Job, JobKind, JobProgress } from '@/db/schema';
import { isAppError } from '@/lib/errors';
import { completeJob, failJob } from '@/lib/jobs/lifecycle';
import { createProgressReporter, type ProgressReporter } from './progress-reporter';

export interface JobContext {
  db: Db;
  job: Job;
  /**
   * Records progress and renews the lease; any error is the reporter's to log. Training calls it
   * between batches without waiting (`void report(...)`): the write completes in the background.
   */
  report: ProgressReporter['report'];
  log: (line: string) => void;
}

/** Runs one job; what it resolves with is recorded as the job's final progress. */
export type JobHandler = (ctx: JobContext) => Promise<JobProgress | void>;
export type JobHandlers = Partial<Record<JobKind, JobHandler>>;

export type JobOutcome = 'succeeded' | 'retrying' | 'failed' | 'lost' | 'released';

export interface RunningJob {
  job: Job;
  reporter: ProgressReporter;
  /** Set when the worker gave the job back while it ran: its end must not be recorded. */
  released: boolean;
}

/**
 * The error's sentence, with what caused it: drizzle wraps a database's refusal in "Failed
 * query: <the SQL>", and the reason (a constraint, a lost race) is only on the cause.
 */
function messageOf(error: unknown): string {
  if (!(error instanceof Error) || !error.message) return String(error);
  const cause = error.cause instanceof Error && error.cause.message ? error.cause.message : null;
  if (cause === null || error.message.includes(cause)) return error.message;
  // The cause first: the failed query's text and parameters can be long.
  return `${cause} (in ${error.message.replace(/\s+/g, ' ').slice(0, 400)})`;
}

/**
 * Runs a job this worker has claimed: validates nothing itself (each handler parses its
 * payload with zod), reports progress through a reporter that renews the lease, and then
 * completes it, or fails it with the error's message (back to the queue while attempts
 * remain). A job whose lease was lost meanwhile is neither completed nor failed: another
 * worker owns it now. A `bad_input` error (an invalid payload) is failed for good at once.
 */
export async function runClaimedJob(input: {
  db: Db;
  job: Job;
  owner: string;
  leaseMs: number;
  handlers: JobHandlers;
  log: (line: string) => void;
  progressIntervalMs?: number;
  /** Called with the running job as soon as it starts, so the caller can give it back on shutdown. */
  onStart?: (running: RunningJob) => void;
}): Promise<JobOutcome> {
  const { db, job, owner, log } = input;
  const reporter = createProgressReporter({
    db,
    jobId: job.id,
    owner,
    leaseMs: input.leaseMs,
    minIntervalMs: input.progressIntervalMs,
    initial: job.progress,
    log,
  });
  const running: RunningJob = { job, reporter, released: false };
  input.onStart?.(running);
  const handler = input.handlers[job.kind];
  try {
    if (!handler) throw new Error(`This worker has no handler for ${job.kind} jobs.`);
    const final = await handler({ db, job, report: reporter.report, log });
    await reporter.stop();
    if (running.released) return 'released';
    if (reporter.lost) {
      log(
        `job ${job.id} (${job.kind}) finished after its lease was lost; another worker owns it, so its end is not recorded.`,
      );
      return 'lost';
    }
    await completeJob(db, { jobId: job.id, owner, progress: final ?? reporter.latest ?? undefined });
    return 'succeeded';
  } catch (error) {
    await reporter.stop();
    if (running.released) return 'released';
    if (isAppError(error) && error.code === 'conflict' && reporter.lost) return 'lost';
    const message = messageOf(error);
    try {
      const status = await failJob(db, {
        jobId: job.id,
        owner,
        error: message,
        retry: !(isAppError(error) && error.code === 'bad_input'),
      });
      // The stack too, unless it is one of Loupe's own errors, whose sentence says it all.
      const detail = !isAppError(error) && error instanceof Error && error.stack ? `\n${error.stack}` : '';
      log(
        `job ${job.id} (${job.kind}) failed on attempt ${job.attempts} of ${job.maxAttempts}: ${message}${status === 'queued' ? ' (will retry)' : ''}${detail}`,
      );
      return status === 'queued' ? 'retrying' : 'failed';
    } catch (failError) {
      if (isAppError(failError) && failError.code === 'conflict') return 'lost';
      throw failError;
    }
  }
}
