import { and, asc, eq, isNull } from 'drizzle-orm';
import { type Db, withTransaction } from '@/db/client';
import { items, predictions, type ModelVersion } from '@/db/schema';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { requireActiveModel } from '@/lib/models/active';
import { insertPredictions, predictStored } from './predictions';
import { predictMissing, readPage, routable } from './rescore-read';
import { writeBatch, type RescoreResult } from './rescore-write';
import { requireCatalogueById } from '@/lib/catalogues';

export type { RescoreResult } from './rescore-write';

/** Items read (and predicted) per round; large rounds are sharded over both cores. */
const PAGE = 10_000;
/** Items written per transaction, so the web server's writes never wait long. */
const WRITE_BATCH = 2000;

/**
 * After a promotion or a rollback: every item whose label did not come from a human gets the
 * active version's prediction and is routed again under the current routing rules (lib/routing/rules.ts), as scoring
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
  const model = await requireActiveModel(db, catalogueId);
  const k = (await requireCatalogueById(db, catalogueId)).classNames.length;
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
  const ids = (await db.select({ id: items.id }).from(items).where(routable(catalogueId)).orderBy(asc(items.id))).map(
    (row) => row.id,
  );
  const total = ids.length;
  let done = 0;
  input.onProgress?.(0, total);
  for (let start = 0; start < ids.length && !result.superseded; start += PAGE) {
    const rows = await readPage(db, model, ids.slice(start, start + PAGE));
    await predictMissing(db, model, k, rows, (n) => input.onProgress?.(done + Math.floor(n / 2), total));
    for (let b = 0; b < rows.length && !result.superseded; b += WRITE_BATCH) {
      await writeBatch(db, { model, catalogueId, rows: rows.slice(b, b + WRITE_BATCH), now: now(), result });
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
  const missing = await db
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
    );
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
  await withTransaction(
    db,
    (tx) =>
      insertPredictions(
        tx,
        model.id,
        missing.map((row, i) => ({ itemId: row.id, prediction: predicted[i]! })),
      ),
    { behavior: 'locking' },
  );
}
