import { and, asc, eq, gt, inArray, isNull, notInArray } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { items, leases, modelVersions, predictions, type ModelVersion, type RoutingReason } from '@/db/schema';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { requireActiveModel } from '@/lib/models/active';
import { getRoutingRules, routeImportLabel, routeItem } from '@/lib/routing/rules';
import { predictStored, type StoredPrediction } from './predictions';
import { requireCatalogueById } from '@/lib/catalogues';

/** Items read (and predicted) per round; large rounds are sharded over both cores. */
const PAGE = 10_000;
/** Items written per transaction, so the web server's writes never wait long. */
const WRITE_BATCH = 2000;
/** Ids per `IN (...)` list. */
const ID_CHUNK = 500;

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

interface Row {
  id: number;
  status: 'auto_accepted' | 'needs_review';
  labelSource: 'model' | 'import';
  currentLabel: number | null;
  routingReason: RoutingReason | null;
  prediction: StoredPrediction | null;
}

/** Items whose routing follows the model: not labelled by a human, not evaluation items, scored. */
const routable = (catalogueId: number) =>
  and(
    eq(items.catalogueId, catalogueId),
    inArray(items.status, ['auto_accepted', 'needs_review']),
    inArray(items.labelSource, ['model', 'import']),
    isNull(items.evalRole),
  );

/**
 * After a promotion or a rollback: every item whose label did not come from a human gets the
 * active version's prediction and is routed again under the current routing rules (lib/routing-rules.ts), as scoring
 * would route it (model labels follow the prediction and go by confidence; import labels stay
 * and go to review when the model disagrees). A prediction this version made before (it was
 * active once) is reused as stored, so rolling back restores that version's predictions
 * exactly; the others are predicted now, on both cores when there are many.
 *
 * Never touched: human labels, evaluation items, items not scored yet (scoring's job), and
 * items a reviewer holds on a live lease (they get the new prediction row, but keep their
 * label and place until decided). Writes go in batched immediate transactions whose WHERE
 * repeats every condition, so an item decided or claimed meanwhile is left alone.
 */
export async function rescoreCatalogue(
  db: Db,
  input: { catalogueId: number; onProgress?: (done: number, total: number) => void; now?: () => number },
): Promise<RescoreResult> {
  const { catalogueId } = input;
  const model = requireActiveModel(db, catalogueId);
  const k = requireCatalogueById(db, catalogueId).classNames.length;
  const now = input.now ?? Date.now;
  const result: RescoreResult = {
    modelVersionId: model.id,
    predicted: 0,
    reused: 0,
    entered: 0,
    left: 0,
    relabelled: 0,
    held: 0,
    superseded: false,
  };
  const ids = db
    .select({ id: items.id })
    .from(items)
    .where(routable(catalogueId))
    .orderBy(asc(items.id))
    .all()
    .map((row) => row.id);
  const total = ids.length;
  let done = 0;
  input.onProgress?.(0, total);
  for (let start = 0; start < ids.length && !result.superseded; start += PAGE) {
    const rows = readPage(db, model, ids.slice(start, start + PAGE));
    await predictMissing(db, model, k, rows, (n) => input.onProgress?.(done + Math.floor(n / 2), total));
    for (let b = 0; b < rows.length && !result.superseded; b += WRITE_BATCH) {
      writeBatch(db, { model, catalogueId, rows: rows.slice(b, b + WRITE_BATCH), now: now(), result });
    }
    done += rows.length;
    input.onProgress?.(done, total);
  }
  if (!result.superseded) await predictGoldItems(db, model, k);
  return result;
}

/**
 * Gold items show reviewers the active model's prediction, like any queue item, and the queue
 * serves only gold items it has predicted: give the new version's prediction to those that lack
 * one. Nothing else about them changes.
 */
async function predictGoldItems(db: Db, model: ModelVersion, k: number): Promise<void> {
  const missing = db
    .select({ id: items.id, pixels: items.pixels })
    .from(items)
    .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, model.id)))
    .where(
      and(
        eq(items.catalogueId, model.catalogueId),
        eq(items.evalRole, 'gold'),
        eq(items.status, 'reviewed'),
        isNull(predictions.id),
      ),
    )
    .all();
  if (missing.length === 0) return;
  const pixels = new Uint8Array(missing.length * PIXELS_PER_IMAGE);
  missing.forEach((row, i) => pixels.set(row.pixels, i * PIXELS_PER_IMAGE));
  const predicted = await predictStored({
    modelDir: model.weightsPath,
    temperature: model.temperature,
    k,
    pixels,
    count: missing.length,
    onProgress: () => {},
  });
  db.transaction((tx) => {
    missing.forEach((row, i) => {
      const p = predicted[i]!;
      tx.insert(predictions)
        .values({
          itemId: row.id,
          modelVersionId: model.id,
          probs: p.probs,
          predictedClass: p.predictedClass,
          confidence: p.confidence,
          margin: p.margin,
        })
        .onConflictDoNothing()
        .run();
    });
  });
}

function readPage(db: Db, model: ModelVersion, ids: number[]): Row[] {
  const rows: Row[] = [];
  for (let start = 0; start < ids.length; start += ID_CHUNK) {
    const chunk = ids.slice(start, start + ID_CHUNK);
    const found = db
      .select({
        id: items.id,
        status: items.status,
        labelSource: items.labelSource,
        currentLabel: items.currentLabel,
        routingReason: items.routingReason,
        probs: predictions.probs,
        predictedClass: predictions.predictedClass,
        confidence: predictions.confidence,
        margin: predictions.margin,
      })
      .from(items)
      .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, model.id)))
      .where(inArray(items.id, chunk))
      .orderBy(asc(items.id))
      .all();
    for (const row of found) {
      // Changed since the id list was read (decided, say): the write would skip it anyway.
      if (
        (row.status !== 'auto_accepted' && row.status !== 'needs_review') ||
        (row.labelSource !== 'model' && row.labelSource !== 'import')
      )
        continue;
      rows.push({
        id: row.id,
        status: row.status,
        labelSource: row.labelSource,
        currentLabel: row.currentLabel,
        routingReason: row.routingReason,
        prediction:
          row.probs === null
            ? null
            : {
                probs: row.probs,
                predictedClass: row.predictedClass!,
                confidence: row.confidence!,
                margin: row.margin!,
              },
      });
    }
  }
  return rows;
}

/** Predicts the rows that have no prediction by this version yet (in place). */
async function predictMissing(
  db: Db,
  model: ModelVersion,
  k: number,
  rows: Row[],
  onProgress: (done: number) => void,
): Promise<void> {
  const missing = rows.filter((row) => row.prediction === null);
  if (missing.length === 0) return;
  const pixels = new Uint8Array(missing.length * PIXELS_PER_IMAGE);
  for (let start = 0; start < missing.length; start += ID_CHUNK) {
    const chunk = missing.slice(start, start + ID_CHUNK);
    const byId = new Map(
      db
        .select({ id: items.id, pixels: items.pixels })
        .from(items)
        .where(
          inArray(
            items.id,
            chunk.map((row) => row.id),
          ),
        )
        .all()
        .map((row) => [row.id, row.pixels]),
    );
    chunk.forEach((row, i) => pixels.set(byId.get(row.id)!, (start + i) * PIXELS_PER_IMAGE));
  }
  const predicted = await predictStored({
    modelDir: model.weightsPath,
    temperature: model.temperature,
    k,
    pixels,
    count: missing.length,
    onProgress: (done) => onProgress(done),
  });
  missing.forEach((row, i) => {
    row.prediction = predicted[i]!;
  });
}

function writeBatch(
  db: Db,
  input: { model: ModelVersion; catalogueId: number; rows: Row[]; now: number; result: RescoreResult },
): void {
  const { model, catalogueId, rows, result } = input;
  const now = new Date(input.now);
  db.transaction(
    (tx) => {
      // Another version was promoted (or rolled back to) since this run began: stop here.
      const stillActive = tx
        .select({ id: modelVersions.id })
        .from(modelVersions)
        .where(and(eq(modelVersions.id, model.id), eq(modelVersions.status, 'active')))
        .get();
      if (!stillActive) {
        result.superseded = true;
        return;
      }
      // Read in the write's own transaction, as scoring does: a threshold change commits
      // either before (read here) or after (and routes what this batch wrote).
      const rules = getRoutingRules(tx, catalogueId);
      const liveLeases = tx.select({ itemId: leases.itemId }).from(leases).where(gt(leases.expiresAt, now));
      const held = new Set<number>();
      for (let start = 0; start < rows.length; start += ID_CHUNK) {
        const chunk = rows.slice(start, start + ID_CHUNK).map((row) => row.id);
        for (const lease of tx
          .select({ itemId: leases.itemId })
          .from(leases)
          .where(and(inArray(leases.itemId, chunk), gt(leases.expiresAt, now)))
          .all())
          held.add(lease.itemId);
      }
      for (const row of rows) {
        const p = row.prediction!;
        const inserted = tx
          .insert(predictions)
          .values({
            itemId: row.id,
            modelVersionId: model.id,
            probs: p.probs,
            predictedClass: p.predictedClass,
            confidence: p.confidence,
            margin: p.margin,
          })
          .onConflictDoNothing()
          .run().changes;
        if (inserted === 1) result.predicted++;
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
        const changed = tx
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
          )
          .run().changes;
        if (changed === 0) continue;
        if (row.status === 'auto_accepted' && status === 'needs_review') result.entered++;
        if (row.status === 'needs_review' && status === 'auto_accepted') result.left++;
        if (currentLabel !== row.currentLabel) result.relabelled++;
      }
    },
    { behavior: 'immediate' },
  );
}
