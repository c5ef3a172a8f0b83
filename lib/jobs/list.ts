import { jsonNumber } from '@/db/dialect';
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import {
  catalogues,
  JOB_KINDS,
  JOB_STATUSES,
  jobs,
  users,
  type JobKind,
  type JobProgress,
  type JobStatus,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogue } from '@/lib/catalogues';
import { parseInput } from '@/lib/validate';

/** Recent background jobs for the models page and GET /api/v1/jobs (admins). */
const LIMIT_MESSAGE = 'must be a whole number from 1 to 200';
export const ListJobsInput = z.object({
  catalogue: z.string().min(1).max(100).optional(),
  kind: z.enum(JOB_KINDS, { error: `must be one of ${JOB_KINDS.join(', ')}` }).optional(),
  status: z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce
    .number({ error: LIMIT_MESSAGE })
    .int(LIMIT_MESSAGE)
    .min(1, LIMIT_MESSAGE)
    .max(200, LIMIT_MESSAGE)
    .optional(),
});
export type ListJobsInput = z.input<typeof ListJobsInput>;

export interface JobSummary {
  id: number;
  kind: JobKind;
  status: JobStatus;
  /** The catalogue the payload names; null when it names none (or one since deleted). */
  catalogue: string | null;
  /** train: manual | labels | timer; score: 'rescore' after a promotion, else 'new items'. */
  reason: string | null;
  requestedBy: string | null;
  attempts: number;
  maxAttempts: number;
  /** Times a worker died while running it (the job was taken over after its lease expired). */
  leaseExpiries: number;
  progress: JobProgress | null;
  /** What came of it, for people: the status, or for a finished job what its result says (see jobOutcome). */
  outcome: JobOutcome;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export type JobOutcome = JobStatus | 'promoted' | 'rejected' | 'skipped' | 'superseded';

/**
 * A finished job's outcome in a word. A training whose candidate the gate rejected ran to the
 * end, so its status stays `succeeded` (failing it would retry it and hold the scheduler back
 * as after a broken run); what people read is the decision its result recorded. Likewise a
 * score job with no model to score with (`skipped`) or whose model was replaced mid-way
 * (`superseded`). Anything else reads as its status.
 */
export function jobOutcome(job: { kind: JobKind; status: JobStatus; progress: JobProgress | null }): JobOutcome {
  if (job.status !== 'succeeded' || !job.progress) return job.status;
  const { promoted, skipped, superseded } = job.progress;
  if (job.kind === 'train' && typeof promoted === 'boolean') return promoted ? 'promoted' : 'rejected';
  if (job.kind === 'score' && skipped === true) return 'skipped';
  if (job.kind === 'score' && superseded === true) return 'superseded';
  return job.status;
}

function reasonOf(kind: JobKind, payload: Record<string, unknown>): string | null {
  if (kind === 'train') return typeof payload.reason === 'string' ? payload.reason : null;
  if (kind === 'score') return payload.rescore === true ? 'rescore' : 'new items';
  return null;
}

/** Newest first. Filters (empty values ignored): catalogue slug, kind, status; at most `limit` (20). */
export async function listJobs(db: Db, input: ListJobsInput & { actor: Actor | null }): Promise<JobSummary[]> {
  requirePermission(input.actor, 'models.manage');
  const blankless = Object.fromEntries(
    Object.entries({ catalogue: input.catalogue, kind: input.kind, status: input.status, limit: input.limit }).filter(
      ([, v]) => v !== '' && v !== undefined && v !== null,
    ),
  );
  const query = parseInput(ListJobsInput, blankless);
  const conditions: SQL[] = [];
  if (query.catalogue !== undefined) {
    const catalogue = await requireCatalogue(db, query.catalogue);
    conditions.push(sql`${jsonNumber(jobs.payload, 'catalogueId')} = ${catalogue.id}`);
  }
  if (query.kind !== undefined) conditions.push(eq(jobs.kind, query.kind));
  if (query.status !== undefined) conditions.push(eq(jobs.status, query.status));
  const rows = await db
    .select({ job: jobs, slug: catalogues.slug, requestedBy: users.email })
    .from(jobs)
    .leftJoin(catalogues, sql`${catalogues.id} = ${jsonNumber(jobs.payload, 'catalogueId')}`)
    .leftJoin(users, sql`${users.id} = ${jsonNumber(jobs.payload, 'requestedBy')}`)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(query.limit ?? 20);
  return rows.map(({ job, slug, requestedBy }) => {
    const payload = (typeof job.payload === 'object' && job.payload !== null ? job.payload : {}) as Record<
      string,
      unknown
    >;
    return {
      id: job.id,
      kind: job.kind,
      status: job.status,
      catalogue: slug,
      reason: reasonOf(job.kind, payload),
      requestedBy,
      attempts: job.attempts,
      maxAttempts: job.maxAttempts,
      leaseExpiries: job.leaseExpiries,
      progress: job.progress,
      outcome: jobOutcome(job),
      error: job.error,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      finishedAt: job.finishedAt,
    };
  });
}
