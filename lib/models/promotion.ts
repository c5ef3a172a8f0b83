import { and, eq } from 'drizzle-orm';
import type { Db, Tx } from '@/db/client';
import { modelVersions, type ModelVersion } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';

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
export function activateModelVersion(tx: Tx, input: { modelVersionId: number; now?: number }): PromotionResult {
  const target = tx.select().from(modelVersions).where(eq(modelVersions.id, input.modelVersionId)).get();
  if (!target) throw new AppError('not_found', `There is no model version ${input.modelVersionId}.`);
  if (target.status === 'active') throw new AppError('conflict', `Model version ${target.name} is already the active one.`);
  const now = new Date(input.now ?? Date.now());
  const retired =
    tx
      .update(modelVersions)
      .set({ status: 'retired' })
      .where(and(eq(modelVersions.catalogueId, target.catalogueId), eq(modelVersions.status, 'active')))
      .returning()
      .get() ?? null;
  const promoted = tx
    .update(modelVersions)
    .set({ status: 'active', promotedAt: now })
    // The status it was read with is part of the write: a concurrent change makes this a conflict.
    .where(and(eq(modelVersions.id, target.id), eq(modelVersions.status, target.status)))
    .returning()
    .get();
  if (!promoted) throw new AppError('conflict', `Model version ${target.name} changed while it was being promoted; try again.`);
  return { promoted, retired };
}

/**
 * An admin's promote or roll back: any version of the catalogue that is not active (a
 * candidate, a rejected candidate the admin overrides, or a retired one to roll back to).
 */
export function promoteModelVersion(db: Db, input: { actor: Actor | null; modelVersionId: number; now?: number }): PromotionResult {
  requirePermission(input.actor, 'models.manage');
  return db.transaction((tx) => activateModelVersion(tx, input), { behavior: 'immediate' });
}
