import type { Db } from '@/db/client';
import type { JobProgress } from '@/db/schema';
import { isAppError } from '@/lib/errors';
import { JOB_LEASE_RENEW_MS, reportJobProgress } from '@/lib/jobs/lifecycle';

export interface ReportOptions {
  /** Write now even if the last write was moments ago (an epoch's end, a new phase). */
  force?: boolean;
}

export interface ProgressReporter {
  /** Records progress, at most every `minIntervalMs` unless forced; a new `phase` is always written. */
  report(progress: JobProgress, options?: ReportOptions): Promise<void>;
  /** True once the lease was found lost: nothing more is written, and the job must not be completed. */
  readonly lost: boolean;
  /** The latest progress handed in, written or not. */
  readonly latest: JobProgress | null;
  /**
   * Stops the renewal timer and waits for a write still on its way (a report a training
   * callback did not await): call when the job is over, whatever its outcome, before recording
   * its end, or that write would meet a job this worker no longer holds.
   */
  stop(): Promise<void>;
}

/**
 * Progress for one claimed job, and with it the lease: every write renews it. A timer also
 * renews it (with the latest progress) every JOB_LEASE_RENEW_MS (or third of a shorter lease),
 * so a phase that reports nothing for a while (evaluating, saving) does not lose the job, and
 * a lease can be short: a dead worker's job is taken over soon after. The timer only fires
 * between awaits, which long computations have (tfjs yields between batches).
 */
export function createProgressReporter(input: {
  db: Db;
  jobId: number;
  owner: string;
  leaseMs: number;
  minIntervalMs?: number;
  initial?: JobProgress | null;
  log?: (line: string) => void;
}): ProgressReporter {
  const { db, jobId, owner, leaseMs } = input;
  const minIntervalMs = input.minIntervalMs ?? 1000;
  let latest: JobProgress | null = input.initial ?? null;
  let lastWriteAt = 0;
  let writtenPhase: unknown;
  let lost = false;
  let stopped = false;
  const pending = new Set<Promise<void>>();

  const write = (): Promise<void> => {
    if (lost || stopped) return Promise.resolve();
    const written = writeNow().finally(() => pending.delete(written));
    pending.add(written);
    return written;
  };

  const writeNow = async () => {
    try {
      await reportJobProgress(db, { jobId, owner, progress: latest ?? {}, leaseMs });
      lastWriteAt = Date.now();
      writtenPhase = latest?.phase;
    } catch (error) {
      if (isAppError(error) && error.code === 'conflict') {
        lost = true;
        input.log?.(`job ${jobId}: ${error.message}`);
        return;
      }
      // A busy database or a full disk: keep going, the next write may succeed before the lease ends.
      input.log?.(`job ${jobId}: could not record progress: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const timer = setInterval(() => void write(), Math.max(100, Math.min(JOB_LEASE_RENEW_MS, Math.floor(leaseMs / 3))));
  timer.unref();

  return {
    async report(progress, options = {}) {
      latest = progress;
      if (options.force || progress.phase !== writtenPhase || Date.now() - lastWriteAt >= minIntervalMs) await write();
    },
    get lost() {
      return lost;
    },
    get latest() {
      return latest;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}
