import { and, eq, inArray } from 'drizzle-orm';
import { type Db, type Tx, type Reader, withTransaction } from '@/db/client';
import { predictions, type ModelVersion } from '@/db/schema';
import { softmaxRows } from '@/lib/ml/calibration';
import { predictLogitsWithScorer, toPredictions } from '@/lib/ml/classifier';
import { expectedCalibrationError } from '@/lib/ml/metrics';
import { predictLogitsInOnnxWorker, type OnnxPriority } from '@/lib/ml/onnx/worker-client';
import { getScorer } from '@/lib/ml/scorer';

/** A prediction as the predictions table stores it: calibrated, rounded to 6 decimals. */
export interface StoredPrediction {
  probs: number[];
  predictedClass: number;
  confidence: number;
  margin: number;
}

const ID_CHUNK = 500;

/**
 * Calibrated predictions of a saved model (softmax of logits / temperature) for `count`
 * images, in the stored form, so a measurement made from them and one read back later agree.
 * Large inputs are sharded over both cores; `background` keeps them off the calling thread.
 */
export async function predictStored(input: {
  modelDir: string;
  temperature: number;
  k: number;
  pixels: Uint8Array;
  count: number;
  background?: boolean;
  /** 'background' (a re-score): the scoring thread serves new items' requests waiting at the same time first. */
  priority?: OnnxPriority;
  onProgress?: (done: number, total: number) => void;
}): Promise<StoredPrediction[]> {
  if (input.count === 0) return [];
  const scorer = await getScorer();
  const logits =
    scorer.name === 'onnx' && input.priority
      ? await predictLogitsInOnnxWorker({
          modelDir: input.modelDir,
          pixels: input.pixels,
          count: input.count,
          threads: input.background ? 1 : (scorer.threads ?? 1),
          priority: input.priority,
          onProgress: input.onProgress,
        })
      : await predictLogitsWithScorer({
          modelDir: input.modelDir,
          pixels: input.pixels,
          count: input.count,
          background: input.background,
          onProgress: input.onProgress,
        });
  return toPredictions(softmaxRows(logits, input.k, input.temperature), input.k).map((p) => ({
    probs: Array.from(p.probs, (v) => Number(v.toFixed(6))),
    predictedClass: p.predictedClass,
    confidence: p.confidence,
    margin: p.margin,
  }));
}

/** This version's stored predictions for these items (those it has). */
export async function readStoredPredictions(
  db: Reader,
  modelVersionId: number,
  itemIds: number[],
): Promise<Map<number, StoredPrediction>> {
  const out = new Map<number, StoredPrediction>();
  for (let start = 0; start < itemIds.length; start += ID_CHUNK) {
    const rows = await db
      .select({
        itemId: predictions.itemId,
        probs: predictions.probs,
        predictedClass: predictions.predictedClass,
        confidence: predictions.confidence,
        margin: predictions.margin,
      })
      .from(predictions)
      .where(
        and(
          eq(predictions.modelVersionId, modelVersionId),
          inArray(predictions.itemId, itemIds.slice(start, start + ID_CHUNK)),
        ),
      );
    for (const { itemId, ...p } of rows) out.set(itemId, p);
  }
  return out;
}

/** Rows per INSERT: 7 values each, well under both databases' limits on bound parameters. */
const INSERT_ROWS = 500;

/**
 * Stores predictions inside the caller's transaction, several rows per statement; an existing
 * row is kept. Returns the item ids whose row was added.
 */
export async function insertPredictions(
  tx: Tx,
  modelVersionId: number,
  rows: { itemId: number; prediction: StoredPrediction }[],
): Promise<Set<number>> {
  const added = new Set<number>();
  for (let start = 0; start < rows.length; start += INSERT_ROWS) {
    const inserted = await tx
      .insert(predictions)
      .values(
        rows.slice(start, start + INSERT_ROWS).map(({ itemId, prediction: p }) => ({
          itemId,
          modelVersionId,
          probs: p.probs,
          predictedClass: p.predictedClass,
          confidence: p.confidence,
          margin: p.margin,
        })),
      )
      .onConflictDoNothing()
      .returning({ itemId: predictions.itemId });
    for (const row of inserted) added.add(row.itemId);
  }
  return added;
}

/**
 * The active version's predictions for these items: stored ones as they are (a version is
 * immutable, so they are what it would predict now), the rest predicted and stored. The
 * evaluation sets are fixed, so after its first measurement a version is never run on them
 * again.
 */
export async function ensureStoredPredictions(
  db: Db,
  input: {
    model: Pick<ModelVersion, 'id' | 'weightsPath' | 'temperature'>;
    k: number;
    itemIds: number[];
    pixelsOf: (index: number) => Uint8Array;
    background?: boolean;
  },
): Promise<{ predictions: StoredPrediction[]; computed: number }> {
  const { model, itemIds } = input;
  const stored = await readStoredPredictions(db, model.id, itemIds);
  const missing = itemIds.map((id, index) => ({ id, index })).filter(({ id }) => !stored.has(id));
  if (missing.length > 0) {
    const pixels = new Uint8Array(missing.length * 784);
    missing.forEach(({ index }, i) => pixels.set(input.pixelsOf(index), i * 784));
    const predicted = await predictStored({
      modelDir: model.weightsPath,
      temperature: model.temperature,
      k: input.k,
      pixels,
      count: missing.length,
      background: input.background,
    });
    await withTransaction(
      db,
      async (tx) =>
        await insertPredictions(
          tx,
          model.id,
          missing.map(({ id }, i) => ({ itemId: id, prediction: predicted[i]! })),
        ),
      // Inserts that keep an existing row: nothing read here needs the other transactions held off.
      { behavior: 'locking' },
    );
    missing.forEach(({ id }, i) => stored.set(id, predicted[i]!));
  }
  return { predictions: itemIds.map((id) => stored.get(id)!), computed: missing.length };
}

/** Correct out of total, and the accuracy (null when empty). */
export type MeasuredAccuracy = { correct: number; total: number; accuracy: number | null };

export function measureAccuracy(predicted: StoredPrediction[], labels: ArrayLike<number>): MeasuredAccuracy {
  let correct = 0;
  predicted.forEach((p, i) => {
    if (p.predictedClass === labels[i]) correct++;
  });
  return { correct, total: predicted.length, accuracy: predicted.length === 0 ? null : correct / predicted.length };
}

/** Expected calibration error (15 bins) of stored predictions; null when there are none. */
export function measureEce(predicted: StoredPrediction[], labels: ArrayLike<number>, k: number): number | null {
  if (predicted.length === 0) return null;
  const probs = new Float32Array(predicted.length * k);
  predicted.forEach((p, i) => probs.set(p.probs, i * k));
  return expectedCalibrationError({ probs, labels, k }).ece;
}
