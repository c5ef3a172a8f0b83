import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '@/db/client';
import type { ModelVersion } from '@/db/schema';
import { initBackend } from '@/lib/ml/backend';
import { loadModel } from '@/lib/ml/model-store';
import { DEFAULT_MAX_HOLDOUT_DROP_POINTS, type GateDecision } from './gate';
import { commitCandidate } from './retrain-commit';
import { decideCandidate } from './retrain-decide';
import { measureCandidate, startActiveEvaluation } from './retrain-measure';
import { defaultModelsDir, resolveSettings, type RetrainOptions, type RetrainProgress } from './retrain-options';
import { prepareRetrain } from './retrain-prepare';
import { candidateName, saveCandidate, trainCandidate } from './retrain-train';
import { rescoreCatalogue, type RescoreResult } from './rescore';

export { defaultModelsDir, RETRAIN_DEFAULTS, type RetrainOptions, type RetrainProgress } from './retrain-options';

export interface RetrainResult {
  candidate: ModelVersion;
  decision: GateDecision;
  promoted: boolean;
  rescore: RescoreResult | null;
  /** The whole run, rescoring included. */
  seconds: number;
  /** Seconds per phase: prepare, train, save, evaluate, decide, and rescore when promoted. */
  timings: Record<string, number>;
}

/**
 * The job body of a retrain: fine-tunes the catalogue's active model on the training part of
 * its human labels plus a replay sample, recalibrates it, measures it and the active model on
 * the holdout and the held-out human labels, lets the gate decide, records the candidate
 * (active, or rejected with the reason) and, when promoted, re-scores the catalogue. Each step
 * is its own file: prepare, train, measure, decide, commit.
 *
 * Crash safety: the candidate's folder is complete (written staged, then renamed) before its
 * row exists, and the row is written with its final status in the same immediate transaction
 * as the promotion, so a crash leaves at most a folder without a row (removed when the run
 * fails in-process), never a half-row or a row pointing at missing files. A crash during the
 * re-scoring leaves a promoted model and a partly re-scored catalogue; a `score` job with
 * `rescore: true` finishes it (rescoreCatalogue reuses what was stored).
 */
export async function runRetrain(
  db: Db,
  input: { catalogueId: number; options?: RetrainOptions; onProgress?: (p: RetrainProgress) => void },
): Promise<RetrainResult> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  let phaseStart = started;
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Number(((now - phaseStart) / 1000).toFixed(2));
    phaseStart = now;
  };
  const progress = (p: RetrainProgress) => input.onProgress?.(p);
  const options = input.options ?? {};
  const settings = resolveSettings(options);
  const maxHoldoutDropPoints = options.maxHoldoutDropPoints ?? DEFAULT_MAX_HOLDOUT_DROP_POINTS;

  progress({ phase: 'preparing', message: 'Reading human labels, holdout and replay data' });
  const prepared = await prepareRetrain(db, {
    catalogueId: input.catalogueId,
    settings,
    shuffleTrainingLabels: options.shuffleTrainingLabels,
  });
  const { catalogue, parent } = prepared;
  const backend = await initBackend();
  lap('prepare');

  const activeEvaluation = startActiveEvaluation(db, prepared);
  const { model, meta: parentMeta } = await loadModel(parent.weightsPath);
  const dir = path.join(
    options.modelsDir ?? defaultModelsDir(),
    catalogue.slug,
    candidateName(parentMeta.arch, parent),
  );
  let disposed = false;
  let committed = false;
  try {
    const tuned = await trainCandidate({ model, parentMeta, prepared, settings, progress });
    lap('train');
    await saveCandidate({ model, parentMeta, prepared, settings, tuned, backend, dir });
    model.dispose();
    disposed = true;
    lap('save');

    const measured = await measureCandidate({
      dir,
      temperature: tuned.temperature,
      prepared,
      activeEvaluation,
      progress,
    });
    lap('evaluate');

    progress({ phase: 'deciding', message: 'Comparing the candidate with the active model' });
    const verdict = decideCandidate({
      prepared,
      tuned,
      measured,
      settings,
      maxHoldoutDropPoints,
      shuffleTrainingLabels: options.shuffleTrainingLabels ?? false,
    });
    const { row, decision } = await commitCandidate(db, {
      prepared,
      dir,
      arch: parentMeta.arch,
      temperature: tuned.temperature,
      measured,
      ...verdict,
    });
    committed = true;
    lap('decide');

    let rescore: RescoreResult | null = null;
    if (decision.promote) {
      progress({ phase: 'rescoring', message: `Re-scoring ${catalogue.slug} with ${row.name}` });
      rescore = await rescoreCatalogue(db, {
        catalogueId: catalogue.id,
        onProgress: (done, total) =>
          progress({ phase: 'rescoring', message: `Re-scored ${done} of ${total} items`, batch: done, batches: total }),
      });
      lap('rescore');
    }
    progress({ phase: 'done', message: decision.reason });
    return {
      candidate: row,
      decision,
      promoted: decision.promote,
      rescore,
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      timings,
    };
  } finally {
    if (!disposed) model.dispose();
    if (!committed) fs.rmSync(dir, { recursive: true, force: true });
    // Settle the background measurement before returning or throwing (it writes to the database).
    await activeEvaluation.catch(() => {});
  }
}
