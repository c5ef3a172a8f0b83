import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import * as tf from '@tensorflow/tfjs';
import { openDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { countEvaluationItems, countItemsByStatus } from '@/lib/catalogue/summary';
import { parseIdxLabels } from '@/lib/formats/idx';
import { getEnv } from '@/lib/env';
import { findCatalogue } from '@/lib/import';
import { runRetrain, type RetrainOptions, type RetrainProgress } from '@/lib/learning/retrain';
import { FineTuneMetrics } from '@/lib/models/metrics';
import { initBackend } from '@/lib/ml/backend';
import { wasmThreadsInUse } from '@/lib/ml/wasm-threads';
import { claimNext } from '@/lib/review/queue';
import { submitReview } from '@/lib/review/decisions';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { DEMO_CATALOGUE, demoImagesPath, seedDemoIfEmpty } from '@/lib/seed';

/**
 * `npm run bench -- loop`: the learning loop end to end on the demo catalogue. A temp
 * database is seeded as `npm start` would (10,000 t10k items, the 5,000-item holdout, the
 * shipped model, everything scored); a simulated reviewer then decides the first 1,000 items
 * the queue hands out with their true t10k labels, through claimNext and submitReview as the
 * review page does; then runRetrain ("train now") is timed to the promotion decision, and the
 * re-scoring after it separately.
 */
export interface LoopBenchOptions {
  corrections: number;
  retrain?: RetrainOptions;
  log: (line: string) => void;
  /** Keep the temp folder (database and candidate model) for inspection. */
  keep?: boolean;
}

export interface SimulatedReviews {
  decisions: number;
  corrected: number;
  confirmed: number;
  seconds: number;
}

/**
 * One reviewer deciding `count` items in queue order with the true labels: confirm when the
 * model is right, correct otherwise. Through the real claim and submit, leases included.
 */
export async function simulateReviews(
  db: Db,
  input: { actor: Actor; catalogueId: number; count: number; trueLabel: (itemId: number) => number },
): Promise<SimulatedReviews> {
  const started = performance.now();
  const result: SimulatedReviews = { decisions: 0, corrected: 0, confirmed: 0, seconds: 0 };
  while (result.decisions < input.count) {
    const item = await claimNext(db, { actor: input.actor, catalogueId: input.catalogueId });
    if (!item) break;
    const label = input.trueLabel(item.itemId);
    const right = item.predictedClass === label;
    await submitReview(db, {
      actor: input.actor,
      itemId: item.itemId,
      action: right ? 'confirm' : 'correct',
      label: right ? null : label,
      clientId: randomUUID(),
      durationMs: 2000,
      modelVersionId: item.modelVersionId,
    });
    result.decisions++;
    if (right) result.confirmed++;
    else result.corrected++;
  }
  result.seconds = round((performance.now() - started) / 1000);
  return result;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const pct = (x: number | null) => (x === null ? null : round(x * 100, 2));

export async function runLoopBench(options: LoopBenchOptions) {
  const { log } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-loop-'));
  const db = openDb(path.join(dir, 'loupe.db'));
  try {
    await migrateDb(db);
    const backend = await initBackend();
    let t = performance.now();
    const lap = () => {
      const s = (performance.now() - t) / 1000;
      t = performance.now();
      return round(s);
    };
    await seedDemoIfEmpty(db, (line) => log(`seed: ${line}`));
    const seedSeconds = lap();
    const catalogue = (await findCatalogue(db, DEMO_CATALOGUE.slug))!;
    const scored = await scoreUnscoredItems(db, { catalogueId: catalogue.id });
    const scoreSeconds = lap();
    log(`scored ${scored.scored} items in ${scoreSeconds} s: ${scored.needsReview} in the queue`);

    const user = await createUserAsSystem(db, {
      email: 'bench-reviewer@loupe.test',
      name: 'Bench Reviewer',
      password: 'bench reviewer password',
      role: 'reviewer',
      passwordCost: 4,
    });
    const actor: Actor = { userId: user.id, role: user.role, email: user.email };
    const imagesPath = demoImagesPath();
    const truth = parseIdxLabels(
      fs.readFileSync(path.join(path.dirname(imagesPath), 't10k-labels-idx1-ubyte.gz')),
      't10k-labels-idx1-ubyte.gz',
    );
    const rowOf = new Map(
      (
        await db.select({ id: items.id, row: items.sourceRow }).from(items).where(eq(items.catalogueId, catalogue.id))
      ).map((r) => [r.id, r.row]),
    );
    const reviews = await simulateReviews(db, {
      actor,
      catalogueId: catalogue.id,
      count: options.corrections,
      trueLabel: (itemId) => truth[rowOf.get(itemId)!]!,
    });
    log(`simulated ${reviews.decisions} decisions (${reviews.corrected} corrections) in ${reviews.seconds} s`);
    const queueBefore = await countItemsByStatus(db, catalogue.id);

    const progress = (p: RetrainProgress) => {
      // Epoch ends and phase changes; not every batch.
      const perBatch =
        (p.phase === 'training' && p.valAccuracy === undefined) || (p.phase === 'rescoring' && p.batch !== undefined);
      if (!perBatch) log(`retrain ${p.phase}: ${p.message}`);
    };
    const result = await runRetrain(db, {
      catalogueId: catalogue.id,
      options: { modelsDir: path.join(dir, 'models'), ...options.retrain },
      onProgress: progress,
    });
    const metrics = FineTuneMetrics.parse(result.candidate.metrics);
    const rescoreSeconds = result.timings.rescore ?? 0;
    return {
      machine: {
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        cores: os.availableParallelism(),
        loadAverage1m: round(os.loadavg()[0] ?? 0),
        node: process.version,
        backend,
        wasmThreads: wasmThreadsInUse(),
        tfjs: tf.version.tfjs,
        datasetDir: getEnv().LOUPE_DATASET_DIR,
      },
      setup: {
        seedSeconds,
        scoreSeconds,
        items: scored.scored,
        evaluation: await countEvaluationItems(db, catalogue.id),
        queueAtStart: scored.needsReview,
      },
      reviews,
      retrain: {
        secondsToDecision: round(result.seconds - rescoreSeconds),
        timings: result.timings,
        humanLabelsUsed: metrics.humanLabelsUsed,
        heldOutHumanLabels: metrics.heldOutHumanLabels,
        replayUsed: metrics.replayUsed,
        replaySource: metrics.replaySource,
        validationCount: metrics.validationCount,
        epochs: metrics.epochs.map((e) => ({
          epoch: e.epoch,
          loss: round(e.loss, 4),
          valAccuracy: pct(e.valAccuracy),
          seconds: round(e.seconds, 1),
        })),
        trainImagesPerSecond: round(metrics.trainImagesPerSecond, 0),
        temperature: round(metrics.temperature, 3),
        settings: metrics.settings,
      },
      holdoutAccuracy: {
        before: pct(metrics.active.holdout.accuracy),
        after: pct(metrics.holdout.accuracy),
        total: metrics.holdout.total,
      },
      heldOutHumanAccuracy: {
        before: pct(metrics.active.heldOutHuman.accuracy),
        after: pct(metrics.heldOutHuman.accuracy),
        total: metrics.heldOutHuman.total,
      },
      holdoutEce: { before: pct(metrics.active.ece), after: pct(metrics.ece) },
      promoted: result.promoted,
      reason: result.decision.reason,
      rescore: result.rescore ? { ...result.rescore, seconds: rescoreSeconds } : null,
      queue: {
        before: queueBefore.needs_review ?? 0,
        after: (await countItemsByStatus(db, catalogue.id)).needs_review ?? 0,
      },
      // Issue 4's goal: under 60 s from "train now" to the promoted model, holdout not lower.
      goal: {
        underSixtySeconds: result.seconds - rescoreSeconds < 60,
        holdoutNotLower: (metrics.holdout.accuracy ?? 0) >= (metrics.active.holdout.accuracy ?? 1),
      },
      ...(options.keep ? { keptIn: dir } : {}),
    };
  } finally {
    db.$client.close();
    if (!options.keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}
