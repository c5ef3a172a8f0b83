import { greater, jsonNumber } from '@/db/dialect';
import { and, asc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, withTransaction, changedRows, firstRow, onlyRow } from '@/db/client';
import { jobs, type Job, type JobKind, type JobProgress } from '@/db/schema';
import { AppError } from '@/lib/errors';

/**
 * The background job queue in the `jobs` table. A worker claims a job by compare-and-set
 * with a lease (owner + expiry) and renews the lease while it runs (a timer, every
 * `JOB_LEASE_RENEW_MS`, and with each progress report), then completes or fails it.
 *
 * Two ways a job ends an attempt without succeeding, counted apart:
 * - it fails (its handler threw): one of `maxAttempts`, then failed for good;
 * - its worker dies (crash, kill -9, machine lost) and the lease expires: the next claim takes
 *   it over as the same attempt and counts one of `MAX_LEASE_EXPIRIES` lease expiries, so a
 *   crash does not use up the attempts a real failure needs; a job that kills its worker
 *   every time (out of memory, say) is still failed after that many.
 */
export const DEFAULT_JOB_LEASE_MS = 30_000;
/** How often a running job's lease is renewed: a lease survives five missed renewals. */
export const JOB_LEASE_RENEW_MS = 5_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Takeovers after an expired lease before the job is failed for good. */
export const MAX_LEASE_EXPIRIES = 5;

const Owner = z.string().min(1).max(200);

export interface EnqueueJobInput {
  kind: JobKind;
  payload: unknown;
  maxAttempts?: number;
  /**
   * At most one queued or running job of this kind with the same `payload.catalogueId`:
   * enqueueing another returns the one already there (e.g. never two trainings at once).
   */
  exclusivePerCatalogue?: boolean;
  now?: number;
}

export interface EnqueueResult {
  job: Job;
  /** False when an exclusive job of the same kind was already waiting or running. */
  created: boolean;
}

function catalogueIdOf(payload: unknown): number | null {
  const parsed = z.object({ catalogueId: z.number().int().positive() }).safeParse(payload);
  return parsed.success ? parsed.data.catalogueId : null;
}

export async function enqueueJob(db: Db, input: EnqueueJobInput): Promise<EnqueueResult> {
  const maxAttempts = z
    .number()
    .int()
    .min(1)
    .max(20)
    .parse(input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const catalogueId = catalogueIdOf(input.payload);
  if (input.exclusivePerCatalogue && catalogueId === null)
    throw new AppError('bad_input', 'An exclusive job needs a catalogueId in its payload.');
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      if (input.exclusivePerCatalogue) {
        const existing = await tx
          .select()
          .from(jobs)
          .where(
            and(
              eq(jobs.kind, input.kind),
              inArray(jobs.status, ['queued', 'running']),
              sql`${jsonNumber(jobs.payload, 'catalogueId')} = ${catalogueId}`,
            ),
          )
          .orderBy(asc(jobs.id))
          .limit(1)
          .then(firstRow);
        if (existing) return { job: existing, created: false };
      }
      const job = await tx
        .insert(jobs)
        .values({ kind: input.kind, payload: input.payload, maxAttempts, createdAt: now, updatedAt: now })
        .returning()
        .then(onlyRow);
      return { job, created: true };
    },
    { behavior: 'immediate' },
  );
}

/** A job is claimable when queued, or running under a lease that has expired. */
function claimable(now: Date) {
  return or(eq(jobs.status, 'queued'), and(eq(jobs.status, 'running'), lt(jobs.leaseExpiresAt, now)));
}

/**
 * Claims the oldest claimable job (of `kinds`, if given) for `owner`. A queued job starts a
 * new attempt; a running job whose lease expired is taken over as the same attempt, with one
 * more lease expiry. Jobs past their last allowed takeover are marked failed on the way.
 * Returns null when nothing waits.
 */
export async function claimJob(
  db: Db,
  input: {
    owner: string;
    kinds?: readonly JobKind[];
    /** A further condition on the job row (the scoring lane takes new-item score jobs apart from re-scores). */
    where?: SQL;
    leaseMs?: number;
    now?: number;
  },
): Promise<Job | null> {
  const owner = Owner.parse(input.owner);
  const now = new Date(input.now ?? Date.now());
  const expiresAt = new Date(now.getTime() + (input.leaseMs ?? DEFAULT_JOB_LEASE_MS));
  const kindFilter = input.kinds && input.kinds.length > 0 ? inArray(jobs.kind, [...input.kinds]) : sql`1 = 1`;
  return await withTransaction(
    db,
    async (tx) => {
      // A job whose worker died again after its last allowed takeover will not be retried: fail it.
      await tx
        .update(jobs)
        .set({
          status: 'failed',
          error: `The worker stopped (crashed or was killed) ${MAX_LEASE_EXPIRIES + 1} times while running this job, so it is not retried again.`,
          leaseOwner: null,
          leaseExpiresAt: null,
          finishedAt: now,
          updatedAt: now,
        })
        .where(
          and(
            eq(jobs.status, 'running'),
            lt(jobs.leaseExpiresAt, now),
            sql`${jobs.leaseExpiries} >= ${MAX_LEASE_EXPIRIES}`,
          ),
        );
      const candidate = await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(claimable(now), kindFilter, input.where ?? sql`1 = 1`))
        .orderBy(asc(jobs.createdAt), asc(jobs.id))
        .limit(1)
        .then(firstRow);
      if (!candidate) return null;
      // Compare-and-set: the WHERE repeats the claimable condition, so a job another worker
      // took between the read and this write is not taken twice. The SET reads the row as it
      // was: 'running' here means a takeover after an expired lease.
      const takeover = sql`(${jobs.status} = 'running')`;
      return (
        (await tx
          .update(jobs)
          .set({
            status: 'running',
            leaseOwner: owner,
            leaseExpiresAt: expiresAt,
            attempts: sql`${jobs.attempts} + (case when ${takeover} then 0 else 1 end)`,
            leaseExpiries: sql`${jobs.leaseExpiries} + (case when ${takeover} then 1 else 0 end)`,
            updatedAt: now,
          })
          .where(and(eq(jobs.id, candidate.id), claimable(now)))
          .returning()
          .then(onlyRow)) ?? null
      );
    },
    { behavior: 'immediate' },
  );
}

function ownedRunning(jobId: number, owner: string) {
  return and(eq(jobs.id, jobId), eq(jobs.status, 'running'), eq(jobs.leaseOwner, owner));
}

function lostLease(jobId: number): AppError {
  return new AppError(
    'conflict',
    `Job ${jobId} is no longer held by this worker (its lease expired and it was taken over or finished).`,
  );
}

/** Records progress and renews the lease; throws `conflict` if this worker no longer holds the job. */
export async function reportJobProgress(
  db: Db,
  input: { jobId: number; owner: string; progress: JobProgress; leaseMs?: number; now?: number },
): Promise<void> {
  const now = new Date(input.now ?? Date.now());
  const changed = changedRows(
    await db
      .update(jobs)
      .set({
        progress: input.progress,
        leaseExpiresAt: new Date(now.getTime() + (input.leaseMs ?? DEFAULT_JOB_LEASE_MS)),
        updatedAt: now,
      })
      .where(ownedRunning(input.jobId, input.owner)),
  );
  if (changed === 0) throw lostLease(input.jobId);
}

export async function completeJob(
  db: Db,
  input: { jobId: number; owner: string; progress?: JobProgress; now?: number },
): Promise<void> {
  const now = new Date(input.now ?? Date.now());
  const changed = changedRows(
    await db
      .update(jobs)
      .set({
        status: 'succeeded',
        ...(input.progress ? { progress: input.progress } : {}),
        error: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        finishedAt: now,
        updatedAt: now,
      })
      .where(ownedRunning(input.jobId, input.owner)),
  );
  if (changed === 0) throw lostLease(input.jobId);
}

/**
 * A failed attempt: back to the queue while attempts remain, else failed for good with the
 * error. `retry: false` fails it for good at once (an error no retry can fix, such as a
 * payload that does not validate). Returns the job's new status.
 */
export async function failJob(
  db: Db,
  input: { jobId: number; owner: string; error: string; retry?: boolean; now?: number },
): Promise<'queued' | 'failed'> {
  const now = new Date(input.now ?? Date.now());
  const error = input.error.slice(0, 2000);
  return await withTransaction(
    db,
    async (tx) => {
      const job = await tx.select().from(jobs).where(ownedRunning(input.jobId, input.owner)).limit(1).then(firstRow);
      if (!job) throw lostLease(input.jobId);
      const status = input.retry === false || job.attempts >= job.maxAttempts ? 'failed' : 'queued';
      await tx
        .update(jobs)
        .set({
          status,
          error,
          leaseOwner: null,
          leaseExpiresAt: null,
          finishedAt: status === 'failed' ? now : null,
          updatedAt: now,
        })
        .where(ownedRunning(input.jobId, input.owner));
      return status;
    },
    { behavior: 'immediate' },
  );
}

/**
 * Hands a job back to the queue unfinished (its worker is shutting down): no error recorded,
 * and the interrupted attempt is not counted, so it is not one of `maxAttempts` failures
 * (`attempts` counts failures plus the attempt running; the next claim counts it again).
 */
export async function releaseJob(db: Db, input: { jobId: number; owner: string; now?: number }): Promise<void> {
  const now = new Date(input.now ?? Date.now());
  const changed = changedRows(
    await db
      .update(jobs)
      .set({
        status: 'queued',
        leaseOwner: null,
        leaseExpiresAt: null,
        attempts: sql`${greater(sql`${jobs.attempts} - 1`, 0)}`,
        updatedAt: now,
      })
      .where(ownedRunning(input.jobId, input.owner)),
  );
  if (changed === 0) throw lostLease(input.jobId);
}

export async function findJob(db: Db, jobId: number): Promise<Job | null> {
  return (await db.select().from(jobs).where(eq(jobs.id, jobId)).limit(1).then(firstRow)) ?? null;
}
