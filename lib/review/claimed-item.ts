import { and, eq, sql } from 'drizzle-orm';
import { firstRow, type Reader } from '@/db/client';
import { preparedPerHandle } from '@/db/prepared';
import { items, predictions, type Catalogue, type LabelSource, type ModelVersion } from '@/db/schema';
import { AppError } from '@/lib/errors';

export interface TopPrediction {
  classIndex: number;
  className: string;
  /** Calibrated probability. */
  prob: number;
}

/**
 * What a reviewer's screen needs for one claimed item; plain JSON-safe values. No pixels: the
 * pages load the image from GET /api/v1/items/:id/image (cached by the browser), so a claim
 * answer stays a few hundred bytes instead of carrying 1 KB of base64 the page never read.
 */
export interface ClaimedItem {
  itemId: number;
  catalogueId: number;
  /** The active model whose prediction is shown; null when no model has scored the item. */
  modelVersionId: number | null;
  /** The model's answer (what Enter confirms); null without a prediction. */
  predictedClass: number | null;
  /** The model's three most probable classes, most probable first. */
  top: TopPrediction[];
  currentLabel: number | null;
  labelSource: LabelSource | null;
  leaseExpiresAt: Date;
}

/**
 * A ClaimedItem as the API sends it (JSON: the date becomes an ISO string). The review pages,
 * the simulator and the benchmark read it with `import type`, so no server code reaches them.
 */
export type ClaimedItemJson = Omit<ClaimedItem, 'leaseExpiresAt'> & { leaseExpiresAt: string };

export const TOP_K = 3;

export function topPredictions(probs: readonly number[], classNames: readonly string[], k = TOP_K): TopPrediction[] {
  return probs
    .map((prob, classIndex) => ({ classIndex, className: classNames[classIndex] ?? `class ${classIndex}`, prob }))
    .sort((a, b) => b.prob - a.prob || a.classIndex - b.classIndex)
    .slice(0, k);
}

/** Reads a leased item with the active model's prediction, inside the claiming transaction. */
// Every claim reads its item and prediction: prepared once per handle (db/prepared.ts).
const claimedItemStatements = preparedPerHandle((db: Reader) => ({
  item: db
    .select({
      id: items.id,
      currentLabel: items.currentLabel,
      labelSource: items.labelSource,
      evalRole: items.evalRole,
    })
    .from(items)
    .where(eq(items.id, sql.placeholder('itemId')))
    .prepare(),
  prediction: db
    .select({ probs: predictions.probs, predictedClass: predictions.predictedClass })
    .from(predictions)
    .where(
      and(
        eq(predictions.itemId, sql.placeholder('itemId')),
        eq(predictions.modelVersionId, sql.placeholder('modelVersionId')),
      ),
    )
    .prepare(),
}));

/**
 * `db` is the database handle, not the claim's transaction: on SQLite its prepared statements run
 * on the same connection, inside that transaction.
 */
export async function describeClaimedItem(
  db: Reader,
  input: { itemId: number; catalogue: Catalogue; model: ModelVersion | null; expiresAt: Date },
): Promise<ClaimedItem> {
  const statements = claimedItemStatements(db);
  const item = await statements.item.execute({ itemId: input.itemId }).then(firstRow);
  if (!item) throw new AppError('internal', `Leased item ${input.itemId} vanished inside its transaction.`);
  const prediction = input.model
    ? await statements.prediction.execute({ itemId: item.id, modelVersionId: input.model.id }).then(firstRow)
    : undefined;
  // A gold item is served blind: it shows what a model-labelled queue item shows (the model's
  // answer as its label), never its known label.
  const gold = item.evalRole === 'gold';
  return {
    itemId: item.id,
    catalogueId: input.catalogue.id,
    modelVersionId: prediction && input.model ? input.model.id : null,
    predictedClass: prediction?.predictedClass ?? null,
    top: prediction ? topPredictions(prediction.probs, input.catalogue.classNames) : [],
    currentLabel: gold ? (prediction?.predictedClass ?? null) : item.currentLabel,
    labelSource: gold ? (prediction ? 'model' : null) : item.labelSource,
    leaseExpiresAt: input.expiresAt,
  };
}
