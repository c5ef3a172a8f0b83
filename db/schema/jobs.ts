import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { checkIn, createdAtColumn, NOW_MS, timestampMs } from './columns';

/** `lab`: a model-lab run or the registration of a lab model as a candidate (lib/lab/). */
export const JOB_KINDS = ['import', 'score', 'train', 'evaluate', 'lab'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Free-form progress reported by a running job (e.g. `{ done, total, phase }`). */
export type JobProgress = Record<string, unknown>;

export const jobs = sqliteTable(
  'jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: JOB_KINDS }).notNull(),
    /** Validated with zod by the job's handler when claimed, never trusted as typed here. */
    payload: text('payload', { mode: 'json' }).$type<unknown>().notNull(),
    status: text('status', { enum: JOB_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(3),
    /**
     * Times the job was taken over after its lease expired (its worker crashed or was killed):
     * counted apart from `attempts`, which a crash does not use up, and capped on its own.
     */
    leaseExpiries: integer('lease_expiries').notNull().default(0),
    progress: text('progress', { mode: 'json' }).$type<JobProgress>(),
    error: text('error'),
    /** Claiming is compare-and-set on these two: a worker that dies leaves an expiring lease. */
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestampMs('lease_expires_at'),
    createdAt: createdAtColumn(),
    updatedAt: timestampMs('updated_at').notNull().default(NOW_MS),
    finishedAt: timestampMs('finished_at'),
  },
  (t) => [
    // The worker claims the oldest queued job, or a running one whose lease expired.
    index('jobs_status_created_idx').on(t.status, t.createdAt),
    index('jobs_kind_status_idx').on(t.kind, t.status),
    checkIn('jobs_kind_check', t.kind, JOB_KINDS),
    checkIn('jobs_status_check', t.status, JOB_STATUSES),
  ],
);
export type Job = typeof jobs.$inferSelect;
export type NewJob = typeof jobs.$inferInsert;
