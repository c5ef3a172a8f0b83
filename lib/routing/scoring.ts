import { and, eq, isNull, ne, or, sql } from 'drizzle-orm';
import { type Db, firstRow } from '@/db/client';
import { items } from '@/db/schema';
import { withClassifier } from '@/lib/ml/classifier';
import { requireActiveModel } from '@/lib/models/active';
import { scoreUnscoredInRounds, type ScoreResult } from '@/lib/routing/score-pipeline';

export type { ScoreResult, ScoreTimings } from '@/lib/routing/score-pipeline';

/**
 * Scores every unscored item of a catalogue with its active model and routes it. The
 * temperature is the model version's (recalibrated per version), not the file's.
 *
 * The path itself (reading in rounds, predicting in the scoring thread meanwhile, batched
 * writes) is lib/routing/score-pipeline.ts. Labels from humans are never overwritten; an item
 * that came with a label keeps it and goes to review only when the model disagrees (a likely
 * label error), otherwise it is accepted.
 */
export async function scoreUnscoredItems(
  db: Db,
  options: { catalogueId: number; onProgress?: (done: number, total: number) => void },
): Promise<ScoreResult> {
  const model = await requireActiveModel(db, options.catalogueId);
  const notHuman = or(isNull(items.labelSource), ne(items.labelSource, 'human'));
  const unscored = and(eq(items.catalogueId, options.catalogueId), eq(items.status, 'unscored'), notHuman);
  const total =
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(items)
        .where(unscored)
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  // The classifier of the model that was active when scoring began, loaded (or reused) once.
  return withClassifier(model.weightsPath, (classifier) =>
    scoreUnscoredInRounds(db, {
      catalogueId: options.catalogueId,
      model,
      classifier,
      total,
      onProgress: options.onProgress,
    }),
  );
}
