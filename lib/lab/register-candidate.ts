import { and, eq, isNull } from 'drizzle-orm';
import { type Db, withTransaction, changedRows, firstRow, onlyRow } from '@/db/client';
import { labResults, labRuns, modelVersions, type ModelVersion } from '@/db/schema';
import { requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { enqueueRescoreJob } from '@/lib/jobs/payloads';
import { decidePromotion, type GateDecision } from '@/lib/learning/gate';
import { concatImages } from '@/lib/learning/image-sets';
import {
  ensureStoredPredictions,
  insertPredictions,
  measureAccuracy,
  measureEce,
  predictStored,
  type StoredPrediction,
} from '@/lib/learning/predictions';
import { getRetrainPolicy } from '@/lib/learning/schedule';
import { readHoldout, readHumanLabels } from '@/lib/learning/split';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { findActiveModel, requireActiveModel } from '@/lib/models/active';
import { activateModelVersion, lockCatalogueModels } from '@/lib/models/promotion';
import { isRegistrableArchitecture } from './architectures';

export interface LabCandidateResult {
  version: ModelVersion;
  decision: GateDecision;
  promoted: boolean;
}

/**
 * Makes lab result `labResultId`'s saved model a candidate of its catalogue and lets the
 * evaluation gate decide, exactly as for a fine-tuned candidate (lib/learning/retrain.ts): the
 * candidate and the active model are measured on the same holdout items and held-out human
 * labels, `decidePromotion` compares them under the catalogue's retrain policy, and the row is
 * written with its verdict, its predictions and (when promoted) the promotion and a re-score
 * job, in one immediate transaction. A lab model never trained on either set (lib/lab/lab-data.ts).
 */
export async function registerLabCandidate(
  db: Db,
  input: { labResultId: number; onProgress?: (message: string) => void },
): Promise<LabCandidateResult> {
  const found = await db
    .select({ result: labResults, run: labRuns })
    .from(labResults)
    .innerJoin(labRuns, eq(labRuns.id, labResults.runId))
    .where(eq(labResults.id, input.labResultId))
    .limit(1)
    .then(firstRow);
  if (!found) throw new AppError('bad_input', `There is no lab result ${input.labResultId}.`);
  const { result, run } = found;
  if (result.modelVersionId !== null) throw new AppError('bad_input', `Lab result ${result.id} is already a version.`);
  if (!isRegistrableArchitecture(result.arch) || !result.modelDir)
    throw new AppError('bad_input', `A ${result.arch} lab model cannot be served by Loupe.`);
  const catalogue = await requireCatalogueById(db, run.catalogueId);
  const meta = readModelMeta(result.modelDir);
  const k = catalogue.classNames.length;
  if (meta.classNames.length !== k)
    throw new AppError('bad_input', `The lab model has ${meta.classNames.length} classes; ${catalogue.slug} has ${k}.`);
  const parent = await requireActiveModel(db, catalogue.id);
  const holdout = await readHoldout(db, catalogue.id);
  const human = await readHumanLabels(db, catalogue.id);
  const evaluation = {
    ...concatImages([holdout, human.heldOut]),
    itemIds: [...holdout.itemIds, ...human.heldOut.itemIds],
  };
  input.onProgress?.(
    `Measuring the lab ${result.arch} and ${parent.name} on ${holdout.count} holdout items and ${human.heldOut.count} held-out human labels`,
  );
  const active = await ensureStoredPredictions(db, {
    model: parent,
    k,
    itemIds: evaluation.itemIds,
    pixelsOf: (i) => evaluation.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
  });
  const candidate = await predictStored({
    modelDir: result.modelDir,
    temperature: meta.temperature,
    k,
    pixels: evaluation.pixels,
    count: evaluation.count,
  });
  const measure = (list: StoredPrediction[]) => ({
    holdout: measureAccuracy(list.slice(0, holdout.count), holdout.labels),
    heldOutHuman: measureAccuracy(list.slice(holdout.count), human.heldOut.labels),
    ece: measureEce(list.slice(0, holdout.count), holdout.labels, k),
  });
  const measured = { candidate: measure(candidate), active: measure(active.predictions) };
  const { maxHoldoutDropPoints } = await getRetrainPolicy(db, catalogue.id);
  let decision = decidePromotion({
    active: { holdout: measured.active.holdout, heldOutHuman: measured.active.heldOutHuman },
    candidate: { holdout: measured.candidate.holdout, heldOutHuman: measured.candidate.heldOutHuman },
    maxHoldoutDropPoints,
  });
  input.onProgress?.(decision.reason);

  const version = await withTransaction(
    db,
    async (tx) => {
      await lockCatalogueModels(tx, catalogue.id);
      if (decision.promote && (await findActiveModel(tx, catalogue.id))?.id !== parent.id)
        decision = {
          ...decision,
          promote: false,
          reason: `Rejected: the active model changed while this lab model was measured (against ${parent.name}); register it again to compare with the current one.`,
        };
      const inserted = await tx
        .insert(modelVersions)
        .values({
          catalogueId: catalogue.id,
          name: `lab-${run.id}-${result.arch}`,
          arch: result.arch,
          weightsPath: result.modelDir!,
          temperature: meta.temperature,
          metrics: {
            kind: 'lab',
            labRunId: run.id,
            labResultId: result.id,
            holdout: measured.candidate.holdout,
            heldOutHuman: measured.candidate.heldOutHuman,
            ece: measured.candidate.ece,
            active: { modelVersionId: parent.id, name: parent.name, ...measured.active },
            validation: { accuracy: meta.validation.accuracy, ece: meta.validation.ece },
            trainingSeconds: meta.trainingSeconds,
            decision: { ...decision, maxHoldoutDropPoints },
          },
          status: 'candidate',
        })
        .returning()
        .then(onlyRow);
      await insertPredictions(
        tx,
        inserted.id,
        evaluation.itemIds.map((itemId, i) => ({ itemId, prediction: candidate[i]! })),
      );
      // Compare-and-set: a second registration of the same result finds it taken.
      const linked = changedRows(
        await tx
          .update(labResults)
          .set({ modelVersionId: inserted.id })
          .where(and(eq(labResults.id, result.id), isNull(labResults.modelVersionId))),
      );
      if (linked === 0) throw new AppError('conflict', `Lab result ${result.id} became a version meanwhile.`);
      if (decision.promote) {
        const promoted = (await activateModelVersion(tx, { modelVersionId: inserted.id })).promoted;
        await enqueueRescoreJob(tx, { catalogueId: catalogue.id });
        return promoted;
      }
      return (await tx
        .update(modelVersions)
        .set({ status: 'rejected' })
        .where(eq(modelVersions.id, inserted.id))
        .returning()
        .then(onlyRow))!;
    },
    { behavior: 'locking' },
  );
  return { version, decision, promoted: decision.promote };
}
