import { and, eq, gt, inArray, notInArray } from 'drizzle-orm';
import { type Db, withTransaction, changedRows, firstRow, lockRows } from '@/db/client';
import { items, leases, modelVersions, settings, type ModelVersion } from '@/db/schema';
import { getRoutingRules, routeImportLabel, routeItem } from '@/lib/routing/rules';
import { insertPredictions } from './predictions';
import { ID_CHUNK, routable, type Row } from './rescore-read';

export interface RescoreResult {
  modelVersionId: number;
  /** Items predicted now (no earlier prediction by this version). */
  predicted: number;
  /** Items whose prediction by this version was already stored (e.g. after a rollback). */
  reused: number;
  /** Auto-accepted items that went to the review queue. */
  entered: number;
  /** Items waiting for review that are now auto-accepted. */
  left: number;
  /** Items whose label (from the model) changed. */
  relabelled: number;
  /** Items a reviewer holds on a live lease: left as they were, though a change was due. */
  held: number;
  /** True when another version became active meanwhile: the rest is that version's job. */
  superseded: boolean;
}

/**
 * Writes one batch of re-scored rows in one transaction: their prediction rows, and
 * the new routing of each item whose status, reason or label changes, counted in `result`.
 * Stops (result.superseded) when another version became active meanwhile.
 */
export async function writeBatch(
  db: Db,
  input: { model: ModelVersion; catalogueId: number; rows: Row[]; now: number; result: RescoreResult },
): Promise<void> {
  const { model, catalogueId, rows, result } = input;
  const now = new Date(input.now);
  await withTransaction(
    db,
    async (tx) => {
      // A promotion and a threshold change wait for this batch; one that committed first is seen.
      await lockRows(tx, { table: modelVersions, column: modelVersions.id, value: model.id, mode: 'share' });
      await lockRows(tx, { table: settings, column: settings.catalogueId, value: catalogueId, mode: 'share' });
      // Another version was promoted (or rolled back to) since this run began: stop here.
      const stillActive = await tx
        .select({ id: modelVersions.id })
        .from(modelVersions)
        .where(and(eq(modelVersions.id, model.id), eq(modelVersions.status, 'active')))
        .limit(1)
        .then(firstRow);
      if (!stillActive) {
        result.superseded = true;
        return;
      }
      // Read in the write's own transaction, as scoring does: a threshold change commits
      // either before (read here) or after (and routes what this batch wrote).
      const rules = await getRoutingRules(tx, catalogueId);
      const liveLeases = tx.select({ itemId: leases.itemId }).from(leases).where(gt(leases.expiresAt, now));
      const held = new Set<number>();
      for (let start = 0; start < rows.length; start += ID_CHUNK) {
        const chunk = rows.slice(start, start + ID_CHUNK).map((row) => row.id);
        for (const lease of await tx
          .select({ itemId: leases.itemId })
          .from(leases)
          .where(and(inArray(leases.itemId, chunk), gt(leases.expiresAt, now))))
          held.add(lease.itemId);
      }
      const added = await insertPredictions(
        tx,
        model.id,
        rows.map((row) => ({ itemId: row.id, prediction: row.prediction! })),
      );
      for (const row of rows) {
        const p = row.prediction!;
        if (added.has(row.id)) result.predicted++;
        else result.reused++;
        const fromImport = row.labelSource === 'import';
        const { status, reason } = fromImport
          ? routeImportLabel(row.currentLabel, p.predictedClass)
          : routeItem({ itemId: row.id, predictedClass: p.predictedClass, confidence: p.confidence }, rules);
        const currentLabel = fromImport ? row.currentLabel : p.predictedClass;
        if (status === row.status && reason === row.routingReason && currentLabel === row.currentLabel) continue;
        if (held.has(row.id)) {
          result.held++;
          continue;
        }
        // Every condition the read saw is part of the write: a decision, claim or relabel
        // since then makes this a no-op.
        const changed = changedRows(
          await tx
            .update(items)
            .set({ status, routingReason: reason, currentLabel })
            .where(
              and(
                eq(items.id, row.id),
                routable(catalogueId),
                eq(items.status, row.status),
                eq(items.labelSource, row.labelSource),
                notInArray(items.id, liveLeases),
              ),
            ),
        );
        if (changed === 0) continue;
        if (row.status === 'auto_accepted' && status === 'needs_review') result.entered++;
        if (row.status === 'needs_review' && status === 'auto_accepted') result.left++;
        if (currentLabel !== row.currentLabel) result.relabelled++;
      }
    },
    // Every write below carries the conditions it was decided on, and the rows it depends on are
    // locked above: no need to serialize against the reviewers' transactions.
    { behavior: 'locking' },
  );
}
