import { and, eq, sql } from 'drizzle-orm';
import { type Db, firstRow } from '@/db/client';
import { catalogues, items, modelVersions } from '@/db/schema';
import { enqueueScoreJob, latestJobOf } from '@/lib/jobs/payloads';
import { maybeEnqueueHoldoutEvaluation } from '@/lib/learning/evaluate-active';
import { maybeEnqueueRetrain } from '@/lib/learning/schedule';

/** After a score job failed for good, wait this long before queueing another for the catalogue. */
export const FAILED_SCORING_BACKOFF_MS = 60_000;

export interface ScheduledJob {
  jobId: number;
  kind: 'score' | 'train' | 'evaluate';
  catalogue: string;
  why: string;
}

/**
 * The worker's scheduling pass, between jobs: a score job for each catalogue with unscored
 * items and an active model (one at a time per catalogue), and a training job where the
 * retrain policy asks for one. Returns what it enqueued.
 */
export async function scheduleJobs(db: Db, input: { now?: number; retrain?: boolean } = {}): Promise<ScheduledJob[]> {
  const now = input.now ?? Date.now();
  const scheduled: ScheduledJob[] = [];
  const withModels = await db
    .select({ id: catalogues.id, slug: catalogues.slug })
    .from(catalogues)
    .innerJoin(modelVersions, and(eq(modelVersions.catalogueId, catalogues.id), eq(modelVersions.status, 'active')));
  for (const catalogue of withModels) {
    const unscored = await db
      .select({ one: sql<number>`1` })
      .from(items)
      // As scoreUnscoredItems selects them: a human label is never scored over.
      .where(
        and(
          eq(items.catalogueId, catalogue.id),
          eq(items.status, 'unscored'),
          sql`(${items.labelSource} is null or ${items.labelSource} <> 'human')`,
        ),
      )
      .limit(1)
      .then(firstRow);
    if (unscored) {
      const last = await latestJobOf(db, { kind: 'score', catalogueId: catalogue.id });
      const backingOff =
        last?.status === 'failed' &&
        last.finishedAt !== null &&
        now - last.finishedAt.getTime() < FAILED_SCORING_BACKOFF_MS;
      if (!backingOff) {
        const { job, created } = await enqueueScoreJob(db, catalogue.id);
        if (created) scheduled.push({ jobId: job.id, kind: 'score', catalogue: catalogue.slug, why: 'unscored items' });
      }
    }
    if (input.retrain !== false) {
      const check = await maybeEnqueueRetrain(db, { catalogueId: catalogue.id, now });
      if (check.enqueued)
        scheduled.push({
          jobId: check.job.id,
          kind: 'train',
          catalogue: catalogue.slug,
          why: check.reason === 'labels' ? `${check.newLabels} new human labels` : 'the retrain timer',
        });
    }
    const evaluation = await maybeEnqueueHoldoutEvaluation(db, { catalogueId: catalogue.id, now });
    if (evaluation)
      scheduled.push({
        jobId: evaluation.job.id,
        kind: 'evaluate',
        catalogue: catalogue.slug,
        why: 'the active model has no predictions on some holdout items',
      });
  }
  return scheduled;
}
