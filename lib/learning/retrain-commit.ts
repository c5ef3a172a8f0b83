import path from 'node:path';
import { eq } from 'drizzle-orm';
import { type Db, withTransaction, onlyRow } from '@/db/client';
import { modelVersions, type ModelVersion } from '@/db/schema';
import { findActiveModel } from '@/lib/models/active';
import { FineTuneMetrics } from '@/lib/models/metrics';
import { activateModelVersion, lockCatalogueModels } from '@/lib/models/promotion';
import type { GateDecision } from './gate';
import { insertPredictions } from './predictions';
import type { PreparedRetrain } from './retrain-prepare';
import type { RetrainMeasurement } from './retrain-measure';

/**
 * Step 5 of a retrain: records the candidate (its folder `dir` is complete) with its final
 * status and its predictions on the evaluation items, in one immediate transaction with the
 * promotion when the gate allowed it. Returns the row and the decision as committed: a
 * promotion is turned into a rejection when the active model changed while the candidate
 * trained, since the comparison no longer describes the model it would replace.
 */
export async function commitCandidate(
  db: Db,
  input: {
    prepared: PreparedRetrain;
    dir: string;
    arch: string;
    temperature: number;
    measured: RetrainMeasurement;
    decision: GateDecision;
    metrics: FineTuneMetrics;
  },
): Promise<{ row: ModelVersion; decision: GateDecision }> {
  const { prepared, dir, measured, metrics } = input;
  const { catalogue, parent, evaluation } = prepared;
  let decision = input.decision;
  const row = await withTransaction(
    db,
    async (tx) => {
      await lockCatalogueModels(tx, catalogue.id);
      const current = await findActiveModel(tx, catalogue.id);
      if (decision.promote && current?.id !== parent.id) {
        decision = {
          ...decision,
          promote: false,
          reason: `Rejected: the active model changed while this candidate trained (it was measured against ${parent.name}); train again to compare with the current one.`,
        };
        metrics.decision = { ...metrics.decision, ...decision };
      }
      const inserted = await tx
        .insert(modelVersions)
        .values({
          catalogueId: catalogue.id,
          name: path.basename(dir),
          arch: input.arch,
          parentId: parent.id,
          weightsPath: dir,
          temperature: input.temperature,
          metrics: FineTuneMetrics.parse(metrics),
          status: 'candidate',
        })
        .returning()
        .then(onlyRow);
      // Its predictions on the evaluation items: when it is the active model one day, its
      // side of the comparison is read back instead of predicted again.
      await insertPredictions(
        tx,
        inserted.id,
        evaluation.itemIds.map((itemId, i) => ({ itemId, prediction: measured.candidatePredictions[i]! })),
      );
      if (decision.promote) return (await activateModelVersion(tx, { modelVersionId: inserted.id })).promoted;
      return (await tx
        .update(modelVersions)
        .set({ status: 'rejected' })
        .where(eq(modelVersions.id, inserted.id))
        .returning()
        .then(onlyRow))!;
    },
    { behavior: 'locking' },
  );
  return { row, decision };
}
