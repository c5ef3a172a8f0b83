import { jsonNumber } from '@/db/dialect';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Tx, withTransaction, firstRow, onlyRow } from '@/db/client';
import { jobs, type Job, type JobKind } from '@/db/schema';
import { DEFAULT_MAX_ATTEMPTS, type EnqueueResult } from '@/lib/jobs/lifecycle';

/**
 * What each job kind carries, validated when the worker claims it (a row is never trusted as
 * typed), and the enqueue helpers that write them.
 */
const CatalogueId = z.number().int().positive();

/** `rescore`: re-score every item not labelled by a human with the active model (after a promotion). */
export const ScoreJobPayload = z.object({ catalogueId: CatalogueId, rescore: z.boolean().optional() });
export type ScoreJobPayload = z.infer<typeof ScoreJobPayload>;

export const TRAIN_REASONS = ['manual', 'labels', 'timer'] as const;
export type TrainReason = (typeof TRAIN_REASONS)[number];

export const TrainJobPayload = z.object({
  catalogueId: CatalogueId,
  reason: z.enum(TRAIN_REASONS),
  /** The admin who pressed "train now"; absent for the scheduler's own jobs. */
  requestedBy: z.number().int().positive().optional(),
});
export type TrainJobPayload = z.infer<typeof TrainJobPayload>;

/** A training attempt is minutes of work: one retry after a crash, then it is reported failed. */
export const TRAIN_MAX_ATTEMPTS = 2;

type Writer = Pick<Db, 'select' | 'insert'> | Pick<Tx, 'select' | 'insert'>;

/** The score jobs of new items, not re-scores: `payload.rescore` absent or false. */
export const isNewItemsScoreJob = sql`coalesce(${jsonNumber(jobs.payload, 'rescore')}, 0) = 0`;

/**
 * Scores a catalogue's unscored items; at most one waiting or running per catalogue. A re-score
 * of the catalogue, waiting or running, does not count: new items must not wait for it (the
 * scoring lane runs the two apart, lib/worker/scoring-lane.ts).
 */
export async function enqueueScoreJob(db: Db, catalogueId: number): Promise<EnqueueResult> {
  const payload = ScoreJobPayload.parse({ catalogueId });
  return await withTransaction(
    db,
    async (tx) => {
      const existing = await tx
        .select()
        .from(jobs)
        .where(
          and(
            eq(jobs.kind, 'score'),
            inArray(jobs.status, ['queued', 'running']),
            catalogueIs(catalogueId),
            isNewItemsScoreJob,
          ),
        )
        .orderBy(asc(jobs.id))
        .limit(1)
        .then(firstRow);
      if (existing) return { job: existing, created: false };
      const now = new Date();
      const job = await tx
        .insert(jobs)
        .values({ kind: 'score', payload, maxAttempts: DEFAULT_MAX_ATTEMPTS, createdAt: now, updatedAt: now })
        .returning()
        .then(onlyRow);
      return { job, created: true };
    },
    { behavior: 'immediate' },
  );
}

function catalogueIs(catalogueId: number) {
  return sql`${jsonNumber(jobs.payload, 'catalogueId')} = ${catalogueId}`;
}

/**
 * Queues a re-score inside the caller's transaction (a promotion writes its re-score in the
 * same commit, so no promotion is ever left without one). Not `exclusivePerCatalogue`: a plain
 * score job of the same catalogue must not stand in for it. A re-score still waiting is
 * reused, since it will read the active model when it runs; a running one is not, since it
 * may have read the model before this promotion.
 */
export async function enqueueRescoreJob(
  tx: Writer,
  input: { catalogueId: number; now?: number },
): Promise<EnqueueResult> {
  const payload = ScoreJobPayload.parse({ catalogueId: input.catalogueId, rescore: true });
  const waiting = await tx
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.kind, 'score'),
        eq(jobs.status, 'queued'),
        catalogueIs(payload.catalogueId),
        sql`${jsonNumber(jobs.payload, 'rescore')} = 1`,
      ),
    )
    .orderBy(asc(jobs.id))
    .limit(1)
    .then(firstRow);
  if (waiting) return { job: waiting, created: false };
  const now = new Date(input.now ?? Date.now());
  const job = await tx
    .insert(jobs)
    .values({ kind: 'score', payload, maxAttempts: DEFAULT_MAX_ATTEMPTS, createdAt: now, updatedAt: now })
    .returning()
    .then(onlyRow);
  return { job, created: true };
}

/** The newest job of a kind for a catalogue, whatever its status. */
export async function latestJobOf(
  db: Pick<Db, 'select'>,
  input: { kind: JobKind; catalogueId: number },
): Promise<Job | null> {
  return (
    (await db
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, input.kind), catalogueIs(input.catalogueId)))
      .orderBy(desc(jobs.createdAt), desc(jobs.id))
      .limit(1)
      .then(firstRow)) ?? null
  );
}
