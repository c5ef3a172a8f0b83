import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, firstRow } from '@/db/client';
import { catalogues, items, predictions } from '@/db/schema';
import { enqueueJob, type EnqueueResult } from '@/lib/jobs/lifecycle';
import { latestJobOf } from '@/lib/jobs/payloads';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { findActiveModel } from '@/lib/models/active';
import { ensureStoredPredictions, measureAccuracy } from './predictions';
import { readHoldout } from './split';

/**
 * The threshold projection reads the active model's stored predictions on the holdout. A
 * retrain stores them for every version it measures, but the shipped model has none until
 * the first retrain: the worker's 'evaluate' job fills them in.
 */
export const EvaluateJobPayload = z.object({
  catalogueId: z.number().int().positive(),
  modelVersionId: z.number().int().positive(),
});
export type EvaluateJobPayload = z.infer<typeof EvaluateJobPayload>;

/** After an evaluate job failed for good, wait this long before queueing another. */
export const FAILED_EVALUATION_BACKOFF_MS = 10 * 60_000;

/** Predictions per round: each round commits, so progress is real and a restart resumes. */
const CHUNK = 1000;

/** Holdout items (with a trusted label) this model version has no stored prediction for. */
export async function countMissingHoldoutPredictions(
  db: Reader,
  input: { catalogueId: number; modelVersionId: number },
): Promise<number> {
  return (
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(items)
        .leftJoin(
          predictions,
          and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelVersionId)),
        )
        .where(
          and(
            eq(items.catalogueId, input.catalogueId),
            eq(items.evalRole, 'holdout'),
            isNotNull(items.importLabel),
            sql`${predictions.id} is null`,
          ),
        )
        .limit(1)
        .then(firstRow)
    )?.n ?? 0
  );
}

export interface EvaluateActiveResult {
  /** False when the version was no longer active when the job ran (nothing to do). */
  evaluated: boolean;
  modelVersionId: number;
  holdoutItems: number;
  /** Predictions computed now; the rest were stored already. */
  computed: number;
  holdoutAccuracy: number | null;
}

/**
 * Stores the model version's predictions on every holdout item it lacks one for, in rounds.
 * Only while the version is the catalogue's active one: a promotion meanwhile makes the job
 * moot (the retrain that produced the new version stored its holdout predictions).
 */
export async function evaluateActiveOnHoldout(
  db: Db,
  input: EvaluateJobPayload & { onProgress?: (done: number, total: number) => void },
): Promise<EvaluateActiveResult> {
  const { catalogueId, modelVersionId } = EvaluateJobPayload.parse({
    catalogueId: input.catalogueId,
    modelVersionId: input.modelVersionId,
  });
  const model = await findActiveModel(db, catalogueId);
  const catalogue = await db
    .select({ classNames: catalogues.classNames })
    .from(catalogues)
    .where(eq(catalogues.id, catalogueId))
    .limit(1)
    .then(firstRow);
  if (!model || model.id !== modelVersionId || !catalogue)
    return { evaluated: false, modelVersionId, holdoutItems: 0, computed: 0, holdoutAccuracy: null };
  const holdout = await readHoldout(db, catalogueId);
  const k = catalogue.classNames.length;
  let computed = 0;
  const all = [];
  for (let start = 0; start < holdout.count; start += CHUNK) {
    const end = Math.min(start + CHUNK, holdout.count);
    const round = await ensureStoredPredictions(db, {
      model,
      k,
      itemIds: holdout.itemIds.slice(start, end),
      pixelsOf: (i) => holdout.pixels.subarray((start + i) * PIXELS_PER_IMAGE, (start + i + 1) * PIXELS_PER_IMAGE),
      background: true,
    });
    computed += round.computed;
    all.push(...round.predictions);
    input.onProgress?.(end, holdout.count);
  }
  return {
    evaluated: true,
    modelVersionId,
    holdoutItems: holdout.count,
    computed,
    holdoutAccuracy: measureAccuracy(all, holdout.labels).accuracy,
  };
}

/**
 * For the worker's scheduling pass: queues an evaluate job (one waiting or running per
 * catalogue) when the active model lacks predictions on some holdout items. Returns the job
 * when one was created, else null. A version whose evaluation failed for good is retried
 * only after a backoff, so a broken model folder does not spin the worker.
 */
export async function maybeEnqueueHoldoutEvaluation(
  db: Db,
  input: { catalogueId: number; now?: number },
): Promise<EnqueueResult | null> {
  const model = await findActiveModel(db, input.catalogueId);
  if (!model) return null;
  if ((await countMissingHoldoutPredictions(db, { catalogueId: input.catalogueId, modelVersionId: model.id })) === 0)
    return null;
  const now = input.now ?? Date.now();
  const last = await latestJobOf(db, { kind: 'evaluate', catalogueId: input.catalogueId });
  const lastPayload = EvaluateJobPayload.safeParse(last?.payload);
  const backingOff =
    last?.status === 'failed' &&
    lastPayload.success &&
    lastPayload.data.modelVersionId === model.id &&
    last.finishedAt !== null &&
    now - last.finishedAt.getTime() < FAILED_EVALUATION_BACKOFF_MS;
  if (backingOff) return null;
  const result = await enqueueJob(db, {
    kind: 'evaluate',
    payload: EvaluateJobPayload.parse({ catalogueId: input.catalogueId, modelVersionId: model.id }),
    exclusivePerCatalogue: true,
    now,
  });
  return result.created ? result : null;
}
