import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { items, predictions, type ModelVersion, type RoutingReason } from '@/db/schema';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { predictStored, type StoredPrediction } from './predictions';

/** Items per prediction request of a re-score: ~0.2-0.4 s of the scoring thread on an idle machine. */
export const RESCORE_PREDICT_CHUNK = 1024;

/** Ids per `IN (...)` list. */
export const ID_CHUNK = 500;

/** A routable item as a re-score read it, with this version's prediction once it has one. */
export interface Row {
  id: number;
  status: 'auto_accepted' | 'needs_review';
  labelSource: 'model' | 'import';
  currentLabel: number | null;
  routingReason: RoutingReason | null;
  prediction: StoredPrediction | null;
}

/** Items whose routing follows the model: not labelled by a human, not evaluation items, scored. */
export const routable = (catalogueId: number) =>
  and(
    eq(items.catalogueId, catalogueId),
    inArray(items.status, ['auto_accepted', 'needs_review']),
    inArray(items.labelSource, ['model', 'import']),
    isNull(items.evalRole),
  );

/** Reads a page of routable items with the version's stored prediction, where it has one. */
export async function readPage(db: Db, model: ModelVersion, ids: number[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (let start = 0; start < ids.length; start += ID_CHUNK) {
    const chunk = ids.slice(start, start + ID_CHUNK);
    const found = await db
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
      .orderBy(asc(items.id));
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
export async function predictMissing(
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
      (
        await db
          .select({ id: items.id, pixels: items.pixels })
          .from(items)
          .where(
            inArray(
              items.id,
              chunk.map((row) => row.id),
            ),
          )
      ).map((row) => [row.id, row.pixels]),
    );
    chunk.forEach((row, i) => pixels.set(byId.get(row.id)!, (start + i) * PIXELS_PER_IMAGE));
  }
  // In chunks, each a background request to the scoring thread: a new import's score job,
  // running meanwhile in the scoring lane, waits for one chunk at most (lib/worker/scoring-lane.ts).
  for (let start = 0; start < missing.length; start += RESCORE_PREDICT_CHUNK) {
    const count = Math.min(RESCORE_PREDICT_CHUNK, missing.length - start);
    const predicted = await predictStored({
      modelDir: model.weightsPath,
      temperature: model.temperature,
      k,
      pixels: pixels.subarray(start * PIXELS_PER_IMAGE, (start + count) * PIXELS_PER_IMAGE),
      count,
      priority: 'background',
      onProgress: (done) => onProgress(start + done),
    });
    for (let i = 0; i < count; i++) missing[start + i]!.prediction = predicted[i]!;
  }
}
