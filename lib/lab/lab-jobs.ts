/**
 * The worker's side of the model lab: training a run's architectures, and putting a lab model
 * through the evaluation gate as a candidate. Both load TensorFlow.js; only the worker calls them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { type Db, withTransaction, firstRow } from '@/db/client';
import { labResults, labRuns } from '@/db/schema';
import { requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { initBackend } from '@/lib/ml/backend';
import { catalogueAugmentation } from '@/lib/learning/augmentation';
import { defaultModelsDir } from '@/lib/learning/retrain-options';
import { isRegistrableArchitecture, parseLabArchitectures } from './architectures';
import { compareArchitectures, type ComparisonProgress } from './compare';
import { readLabDataset } from './lab-data';
import { LabRunSettings } from './lab-runs';
import { DEFAULT_LAB_SETTINGS, type LabResult } from './run-architecture';

/** Where a run's models are saved: beside the catalogue's candidates, under `lab/`. */
export function labModelDir(input: { catalogueSlug: string; runId: number; arch: string; modelsDir?: string }): string {
  return path.join(
    input.modelsDir ?? defaultModelsDir(),
    input.catalogueSlug,
    'lab',
    `run-${input.runId}-${input.arch}`,
  );
}

function reportOf(result: LabResult) {
  return {
    ...result.evaluation,
    thresholdAt1PctError: result.thresholdAt1PctError,
    temperature: result.temperature,
    epochsRun: result.epochsRun,
    bestEpoch: result.bestEpoch,
  };
}

/**
 * Trains and measures each architecture of lab run `labRunId`, storing a result row as each
 * one ends (the page shows them while the rest train). A retried job starts the run again.
 */
export async function executeLabRun(
  db: Db,
  input: { labRunId: number; modelsDir?: string; onProgress?: (progress: ComparisonProgress) => void },
): Promise<{ results: number; source: string }> {
  const run = await db.select().from(labRuns).where(eq(labRuns.id, input.labRunId)).limit(1).then(firstRow);
  if (!run) throw new AppError('bad_input', `There is no lab run ${input.labRunId}.`);
  const catalogue = await requireCatalogueById(db, run.catalogueId);
  const settings = LabRunSettings.parse(run.settings);
  const archs = parseLabArchitectures(run.archs.join(','));
  const data = await readLabDataset(db, {
    catalogue,
    trainSize: settings.trainSize,
    testSize: settings.testSize,
    seed: settings.seed,
  });
  await withTransaction(db, async (tx) => {
    await tx.delete(labResults).where(eq(labResults.runId, run.id));
    await tx
      .update(labRuns)
      .set({
        source: data.source,
        trainCount: data.train.count,
        testItemIds: data.testItemIds,
        testLabels: Array.from(data.test.labels),
        finishedAt: null,
      })
      .where(eq(labRuns.id, run.id));
  });
  await initBackend();
  const dirOf = (arch: string) =>
    labModelDir({ catalogueSlug: catalogue.slug, runId: run.id, arch, modelsDir: input.modelsDir });
  const results = await compareArchitectures({
    archs,
    data,
    // Digits must not be mirrored: their own preset (shifts, rotation, zoom) as `npm run train` uses.
    settings: { ...DEFAULT_LAB_SETTINGS, ...settings, augmentation: catalogueAugmentation(catalogue.classNames) },
    saveDirFor: (arch) => (isRegistrableArchitecture(arch) ? dirOf(arch) : undefined),
    onProgress: input.onProgress,
    onResult: async (result) => {
      const modelDir = isRegistrableArchitecture(result.arch) ? dirOf(result.arch) : null;
      await db.insert(labResults).values({
        runId: run.id,
        arch: result.arch,
        accuracy: result.accuracy,
        macroF1: result.macroF1,
        ece: result.ece,
        params: result.params,
        trainSeconds: result.trainSeconds,
        imagesPerSecond: result.imagesPerSecond,
        coverageAt1PctError: result.coverageAt1PctError,
        report: reportOf(result),
        predicted: result.predicted,
        confidence: result.confidence,
        modelDir: modelDir && fs.existsSync(modelDir) ? modelDir : null,
      });
    },
  });
  await db.update(labRuns).set({ finishedAt: new Date() }).where(eq(labRuns.id, run.id));
  return { results: results.length, source: data.source };
}
