import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Tx, withTransaction, firstRow, lockRows, onlyRow } from '@/db/client';
import { catalogues, modelVersions, type Job, type ModelVersion } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { enqueueRescoreJob } from '@/lib/jobs/payloads';

/**
 * Promotions of one catalogue's models in turn: the first statement of a transaction that
 * reads which version is active and then changes it. Inside 'locking' transactions, which wait
 * on the reviewers' row locks instead of failing for them (a promotion re-queues thousands of items).
 */
export async function lockCatalogueModels(tx: Tx, catalogueId: number): Promise<void> {
  await lockRows(tx, { table: catalogues, column: catalogues.id, value: catalogueId, mode: 'update' });
}

export interface PromotionResult {
  promoted: ModelVersion;
  /** The version that was active before, now retired; null when none was. */
  retired: ModelVersion | null;
}

/**
 * Makes `modelVersionId` its catalogue's active model in one transaction: the old active one
 * is retired in the same write, so every reader sees exactly one active version, before or
 * after, never none or two (a unique index enforces it too). Model files are complete before
 * a version row exists (lib/ml/model-store writes them staged, then renamed), so a reader that
 * sees the new row can load it at once; the worker's classifier cache is keyed by folder.
 */
export async function activateModelVersion(tx: Tx, input: { modelVersionId: number; now?: number }): Promise<PromotionResult> {
  const read = () => tx.select().from(modelVersions).where(eq(modelVersions.id, input.modelVersionId)).limit(1).then(firstRow);
  const found = await read();
  if (!found) throw new AppError('not_found', `There is no model version ${input.modelVersionId}.`);
  await lockCatalogueModels(tx, found.catalogueId);
  // Read again under the lock: as the last promotion committed it.
  const target = (await read())!;
  if (target.status === 'active') throw new AppError('conflict', `Model version ${target.name} is already the active one.`);
  const now = new Date(input.now ?? Date.now());
  const retired =
    await tx
      .update(modelVersions)
      .set({ status: 'retired' })
      .where(and(eq(modelVersions.catalogueId, target.catalogueId), eq(modelVersions.status, 'active')))
      .returning().then(onlyRow) ?? null;
  const promoted = await tx
    .update(modelVersions)
    .set({ status: 'active', promotedAt: now })
    // The status it was read with is part of the write: a concurrent change makes this a conflict.
    .where(and(eq(modelVersions.id, target.id), eq(modelVersions.status, target.status)))
    .returning().then(onlyRow);
  if (!promoted) throw new AppError('conflict', `Model version ${target.name} changed while it was being promoted; try again.`);
  return { promoted, retired };
}

export interface PromoteResult extends PromotionResult {
  /** Re-scores every item not labelled by a human with the new active model, then routes it again. */
  rescoreJob: Job;
}

/**
 * An admin makes a version the active one: a candidate, a rejected candidate (overriding the
 * gate) or a retired version (a roll back). The promotion and its re-score job commit
 * together, so a promoted model is never left without its re-score.
 */
export async function promoteAndRescore(db: Db, input: { actor: Actor | null; modelVersionId: number; now?: number }): Promise<PromoteResult> {
  requirePermission(input.actor, 'models.manage');
  const modelVersionId = parseInput(z.number().int().positive(), input.modelVersionId);
  return await withTransaction(db, async (tx) => {
      const promotion = await activateModelVersion(tx, { modelVersionId, now: input.now });
      const { job } = await enqueueRescoreJob(tx, { catalogueId: promotion.promoted.catalogueId, now: input.now });
      return { ...promotion, rescoreJob: job };
    }, { behavior: 'locking' });
}
