import { and, asc, eq, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { items, predictions, type ModelVersion } from '@/db/schema';
import { softmaxRows } from '@/lib/ml/calibration';
import { cachedClassifier, toPredictions, type Classifier, type Prediction } from '@/lib/ml/classifier';
import { effectiveWorkers, predictLogitsParallel } from '@/lib/ml/parallel-predict';
import { requireActiveModel } from '@/lib/models/active';
import { getRoutingRules, routeImportLabel, routeItem } from '@/lib/routing/rules';

/** Items read and predicted per round; large rounds are sharded over both cores. */
const PAGE = 10_000;
/** Items written per transaction, so the web server's writes never wait long. */
const WRITE_BATCH = 2000;

/** One loaded classifier per model folder per process, on the process's scorer (ONNX Runtime or tfjs). */
export function getClassifier(model: Pick<ModelVersion, 'weightsPath'>): Promise<Classifier> {
  return cachedClassifier(model.weightsPath);
}

export interface ScoreResult {
  /** Items routed (gold items not included). */
  scored: number;
  autoAccepted: number;
  needsReview: number;
  modelVersionId: number;
  /** Gold items given their prediction (what reviewers see), never routed. */
  gold: number;
}

/**
 * Scores every unscored item of a catalogue with its active model and routes it. The
 * temperature is the model version's (recalibrated per version), not the file's.
 *
 * Per batch, one transaction writes the predictions and the routing. Labels from humans are
 * never overwritten; an item that came with a label keeps it and goes to review only when
 * the model disagrees (a likely label error), otherwise it is accepted.
 */
export async function scoreUnscoredItems(
  db: Db,
  options: { catalogueId: number; onProgress?: (done: number, total: number) => void },
): Promise<ScoreResult> {
  const model = requireActiveModel(db, options.catalogueId);
  const classifier = await getClassifier(model);
  const notHuman = or(isNull(items.labelSource), ne(items.labelSource, 'human'));
  const unscored = and(eq(items.catalogueId, options.catalogueId), eq(items.status, 'unscored'), notHuman);
  const total =
    db
      .select({ n: sql<number>`count(*)` })
      .from(items)
      .where(unscored)
      .get()?.n ?? 0;
  const result: ScoreResult = { scored: 0, autoAccepted: 0, needsReview: 0, modelVersionId: model.id, gold: 0 };
  let afterId = 0;
  for (;;) {
    const page = db
      .select({
        id: items.id,
        pixels: items.pixels,
        labelSource: items.labelSource,
        currentLabel: items.currentLabel,
        evalRole: items.evalRole,
      })
      .from(items)
      .where(and(unscored, gt(items.id, afterId)))
      .orderBy(asc(items.id))
      .limit(PAGE)
      .all();
    if (page.length === 0) break;
    afterId = page.at(-1)!.id;
    const pixels = new Uint8Array(page.length * 784);
    page.forEach((item, i) => pixels.set(item.pixels, i * 784));
    const done = result.scored + result.gold;
    const onProgress = (n: number) => options.onProgress?.(done + n, total);
    const logits =
      // ONNX Runtime already uses every core in-process; tfjs shards over worker threads.
      classifier.scorer === 'tfjs' && effectiveWorkers(page.length) > 1
        ? await predictLogitsParallel({ modelDir: model.weightsPath, pixels, count: page.length, onProgress })
        : await classifier.predictLogits(pixels, page.length, { onProgress });
    const k = classifier.meta.classNames.length;
    const predicted = toPredictions(softmaxRows(logits, k, model.temperature), k);
    for (let start = 0; start < page.length; start += WRITE_BATCH) {
      writeScores(db, {
        modelVersionId: model.id,
        catalogueId: options.catalogueId,
        batch: page.slice(start, start + WRITE_BATCH),
        predicted: predicted.slice(start, start + WRITE_BATCH),
        result,
      });
    }
    options.onProgress?.(result.scored + result.gold, total);
  }
  return result;
}

function writeScores(
  db: Db,
  input: {
    modelVersionId: number;
    catalogueId: number;
    batch: { id: number; labelSource: string | null; currentLabel: number | null; evalRole: string | null }[];
    predicted: Prediction[];
    result: ScoreResult;
  },
): void {
  const { batch, predicted, result, modelVersionId } = input;
  db.transaction(
    (tx) => {
      // Read inside the write's own immediate transaction: a threshold change either commits
      // before this batch (and is read here) or after it (and re-routes what this batch wrote).
      const rules = getRoutingRules(tx, input.catalogueId);
      batch.forEach((item, i) => {
        const p = predicted[i]!;
        tx.insert(predictions)
          .values({
            itemId: item.id,
            modelVersionId,
            probs: Array.from(p.probs, (v) => Number(v.toFixed(6))),
            predictedClass: p.predictedClass,
            confidence: p.confidence,
            margin: p.margin,
          })
          .onConflictDoNothing()
          .run();
        if (item.evalRole === 'gold') {
          // Gold items keep their known label and stay out of routing: the prediction is only
          // what a reviewer is shown when one is mixed into the queue.
          result.gold += tx
            .update(items)
            .set({ status: 'reviewed' })
            .where(and(eq(items.id, item.id), eq(items.status, 'unscored'), eq(items.evalRole, 'gold')))
            .run().changes;
          return;
        }
        const fromImport = item.labelSource === 'import';
        const { status, reason } = fromImport
          ? routeImportLabel(item.currentLabel, p.predictedClass)
          : routeItem({ itemId: item.id, predictedClass: p.predictedClass, confidence: p.confidence }, rules);
        const changed = tx
          .update(items)
          .set(
            fromImport
              ? { status, routingReason: reason }
              : { status, routingReason: reason, currentLabel: p.predictedClass, labelSource: 'model' },
          )
          // Only items still unscored and not labelled by a human: the condition is the write's own.
          .where(
            and(
              eq(items.id, item.id),
              eq(items.status, 'unscored'),
              or(isNull(items.labelSource), ne(items.labelSource, 'human')),
            ),
          )
          .run().changes;
        if (changed === 0) return;
        result.scored++;
        if (status === 'auto_accepted') result.autoAccepted++;
        else result.needsReview++;
      });
    },
    { behavior: 'immediate' },
  );
}
