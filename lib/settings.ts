import { and, desc, eq, gt, inArray, isNull, notInArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { catalogues, items, leases, modelVersions, predictions, settings, settingsChanges, users } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/import/parse-input';
import { DEFAULT_THRESHOLD, routeByConfidence } from '@/lib/routing';

type Reader = Pick<Db, 'select'>;

/** Ids per `IN (...)` list: far below SQLite's bound-variable limit. */
const ID_CHUNK = 500;

const THRESHOLD_MESSAGE = 'must be a calibrated confidence strictly between 0 and 1, e.g. 0.9';
export const ThresholdSchema = z.number({ error: THRESHOLD_MESSAGE }).gt(0, THRESHOLD_MESSAGE).lt(1, THRESHOLD_MESSAGE);

const SetThresholdInput = z.object({
  catalogueId: z.number().int().positive(),
  threshold: ThresholdSchema,
  /** ms since the epoch; injectable so tests decide which leases are live. */
  now: z.number().int().nonnegative().optional(),
});

/**
 * The catalogue's auto-accept threshold on calibrated confidence: its settings row, or the
 * default when it has none. Scoring and re-routing both read it here, so they never disagree.
 */
export function getThreshold(db: Reader, catalogueId: number): number {
  return db.select({ threshold: settings.threshold }).from(settings).where(eq(settings.catalogueId, catalogueId)).get()?.threshold ?? DEFAULT_THRESHOLD;
}

export interface SetThresholdResult {
  catalogueId: number;
  oldThreshold: number;
  threshold: number;
  /** Auto-accepted items that now go to the review queue. */
  entered: number;
  /** Items waiting for review that are now auto-accepted. */
  left: number;
  /** Routable items a reviewer holds on a live lease: left where they are. */
  held: number;
}

/**
 * Changes a catalogue's threshold and routes its model-labelled items again under it, in one
 * transaction: the settings row, the history row and every status change commit together or
 * not at all. Only items the threshold decides are touched: status auto_accepted or
 * needs_review, label from the model (human labels are final; import-labelled items are
 * routed by agreement with the model, not by confidence), no evaluation role, and a
 * prediction by the active model. Items a reviewer holds on a live lease stay as they are,
 * so no one's open item vanishes from under them.
 */
export function setThreshold(db: Db, input: { actor: Actor | null; catalogueId: number; threshold: number; now?: number }): SetThresholdResult {
  const actor = requirePermission(input.actor, 'settings.write');
  const { catalogueId, threshold, now: nowMs } = parseInput(SetThresholdInput, input);
  const now = new Date(nowMs ?? Date.now());
  return db.transaction(
    (tx) => {
      if (!tx.select({ id: catalogues.id }).from(catalogues).where(eq(catalogues.id, catalogueId)).get()) {
        throw new AppError('not_found', `There is no catalogue ${catalogueId}.`);
      }
      const oldThreshold = getThreshold(tx, catalogueId);
      const result: SetThresholdResult = { catalogueId, oldThreshold, threshold, entered: 0, left: 0, held: 0 };
      if (threshold === oldThreshold) return result;

      tx.insert(settings)
        .values({ catalogueId, threshold, updatedAt: now, updatedBy: actor.userId })
        .onConflictDoUpdate({ target: settings.catalogueId, set: { threshold, updatedAt: now, updatedBy: actor.userId } })
        .run();
      tx.insert(settingsChanges)
        .values({ catalogueId, userId: actor.userId, field: 'threshold', oldValue: JSON.stringify(oldThreshold), newValue: JSON.stringify(threshold), createdAt: now })
        .run();

      const model = tx.select({ id: modelVersions.id }).from(modelVersions).where(and(eq(modelVersions.catalogueId, catalogueId), eq(modelVersions.status, 'active'))).get();
      if (!model) return result;
      const liveLeases = tx.select({ itemId: leases.itemId }).from(leases).where(gt(leases.expiresAt, now));
      const routable = and(
        eq(items.catalogueId, catalogueId),
        inArray(items.status, ['auto_accepted', 'needs_review']),
        eq(items.labelSource, 'model'),
        isNull(items.evalRole),
      );
      const rows = tx
        .select({ id: items.id, status: items.status, confidence: predictions.confidence, held: leases.itemId })
        .from(items)
        .innerJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, model.id)))
        .leftJoin(leases, and(eq(leases.itemId, items.id), gt(leases.expiresAt, now)))
        .where(routable)
        .all();

      const toQueue: number[] = [];
      const toAccepted: number[] = [];
      for (const row of rows) {
        const status = routeByConfidence(row.confidence, threshold);
        if (status === row.status) continue;
        if (row.held !== null) result.held++;
        else (status === 'needs_review' ? toQueue : toAccepted).push(row.id);
      }
      // The WHERE repeats every condition, so the write itself cannot move an item that is
      // held or labelled by a human, whatever the read above saw.
      const move = (ids: number[], from: 'auto_accepted' | 'needs_review', to: 'auto_accepted' | 'needs_review'): number => {
        let changed = 0;
        for (let start = 0; start < ids.length; start += ID_CHUNK) {
          changed += tx
            .update(items)
            .set({ status: to })
            .where(and(inArray(items.id, ids.slice(start, start + ID_CHUNK)), routable, eq(items.status, from), notInArray(items.id, liveLeases)))
            .run().changes;
        }
        return changed;
      };
      result.entered = move(toQueue, 'auto_accepted', 'needs_review');
      result.left = move(toAccepted, 'needs_review', 'auto_accepted');
      return result;
    },
    // Read then write: take the write lock first so the worker's scoring cannot interleave.
    { behavior: 'immediate' },
  );
}

export interface ThresholdChange {
  id: number;
  oldValue: number | null;
  newValue: number | null;
  createdAt: Date;
  /** Null for a change made by a script. */
  userEmail: string | null;
}

/** A catalogue's threshold history, newest first. */
export function listThresholdChanges(db: Db, options: { catalogueId: number; limit?: number }): ThresholdChange[] {
  const limit = parseInput(z.number().int().min(1).max(500), options.limit ?? 20);
  return db
    .select({ id: settingsChanges.id, oldValue: settingsChanges.oldValue, newValue: settingsChanges.newValue, createdAt: settingsChanges.createdAt, userEmail: users.email })
    .from(settingsChanges)
    .leftJoin(users, eq(users.id, settingsChanges.userId))
    .where(and(eq(settingsChanges.catalogueId, options.catalogueId), eq(settingsChanges.field, 'threshold')))
    .orderBy(desc(settingsChanges.createdAt), desc(settingsChanges.id))
    .limit(limit)
    .all()
    .map((row) => ({ ...row, oldValue: parseNumber(row.oldValue), newValue: parseNumber(row.newValue) }));
}

function parseNumber(json: string | null): number | null {
  if (json === null) return null;
  const value: unknown = JSON.parse(json);
  return typeof value === 'number' ? value : null;
}
