import fs from 'node:fs';
import path from 'node:path';
import { and, eq, isNull, ne } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, leases, modelVersions, predictions, settings, type ModelVersion } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { simulateReviews } from '@/scripts/bench/loop';
import { parseIdxImages, parseIdxLabels, readIdxSplit } from '@/lib/formats/idx';
import { ensureCatalogue, importItems } from '@/lib/import';
import { bundledDatasetDir, REPLAY_FILES } from '@/lib/learning/demo-data';
import { fineTune } from '@/lib/learning/fine-tune';
import { rescoreCatalogue } from '@/lib/learning/rescore';
import { runRetrain, type RetrainProgress } from '@/lib/learning/retrain';
import { FineTuneMetrics } from '@/lib/models/metrics';
import { isHeldOutHumanLabel } from '@/lib/learning/split';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { AUGMENT_PRESETS } from '@/lib/ml/model-input';
import { loadModel, readModelMeta, saveModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { trainModel } from '@/lib/ml/train';
import { promoteAndRescore } from '@/lib/models/promotion';
import { findActiveModel, registerInitialModel } from '@/lib/models/active';
import { claimNext } from '@/lib/review/queue';
import { getRoutingRules, routeItem } from '@/lib/routing/rules';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { expectAppError, tempDir } from '../review/fixtures';

/**
 * The learning loop on a small real setup: mlp models (fast), 500 Fashion-MNIST test images as
 * the catalogue, 1,000 more as its holdout, 250 decisions by a simulated reviewer with the
 * true labels, real fine-tuning on the wasm backend, a real SQLite file.
 */
const { dir, cleanup } = tempDir('loupe-learning-retrain-');
afterAll(cleanup);

const CATALOGUE_ITEMS = 500;
const HOLDOUT_ITEMS = 1000;
const DECISIONS = 250;
const THRESHOLD = 0.6;
let t10k: ReturnType<typeof readIdxSplit>;
let untrainedDir: string;
let trainedDir: string;

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  t10k = readIdxSplit(bundledDatasetDir(), 't10k');
  untrainedDir = path.join(dir, 'untrained');
  await saveUntrainedModel(untrainedDir, { arch: 'mlp', classNames: [...FASHION_MNIST_CLASSES], seed: 7 });
  // A decent active model (~75% on the holdout): one epoch of the mlp on the bundled replay file.
  trainedDir = path.join(dir, 'trained');
  const images = parseIdxImages(fs.readFileSync(path.join(bundledDatasetDir(), REPLAY_FILES.images)), 'replay');
  const labels = parseIdxLabels(fs.readFileSync(path.join(bundledDatasetDir(), REPLAY_FILES.labels)), 'replay');
  const { model } = await loadModel(untrainedDir);
  const train = { pixels: images.pixels, labels, count: images.count };
  await trainModel({
    model,
    train,
    validation: { pixels: t10k.images.pixels.subarray(0, 784 * 200), labels: t10k.labels.subarray(0, 200), count: 200 },
    numClasses: 10,
    epochs: 1,
    learningRate: 2e-3,
    augment: null,
    seed: 3,
  });
  await saveModel(trainedDir, model, { ...readModelMeta(untrainedDir), dataset: 'bundled replay, 1 epoch' });
  model.dispose();
});

interface Loop {
  db: Db;
  catalogueId: number;
  base: ModelVersion;
  reviewer: Actor;
  admin: Actor;
  modelsDir: string;
}

let counter = 0;

async function makeLoop(options: {
  active: 'untrained' | 'trained';
  holdout?: boolean;
  decisions?: number;
}): Promise<Loop> {
  const name = `loop-${++counter}`;
  const db = openDb(path.join(dir, `${name}.db`));
  await migrateDb(db);
  const catalogue = await ensureCatalogue(db, { slug: 'fm', name: 'FM', classNames: [...FASHION_MNIST_CLASSES] });
  const image = (row: number) => t10k.images.pixels.subarray(row * 784, (row + 1) * 784);
  await importItems(db, {
    catalogueSlug: 'fm',
    kind: 'idx',
    source: 't10k',
    items: Array.from({ length: CATALOGUE_ITEMS }, (_, row) => ({ pixels: image(row), label: null, sourceRow: row })),
  });
  if (options.holdout !== false) {
    await importItems(db, {
      catalogueSlug: 'fm',
      kind: 'idx',
      source: 't10k-holdout',
      evalRole: 'holdout',
      items: Array.from({ length: HOLDOUT_ITEMS }, (_, i) => ({
        pixels: image(CATALOGUE_ITEMS + i),
        label: t10k.labels[CATALOGUE_ITEMS + i]!,
        sourceRow: CATALOGUE_ITEMS + i,
      })),
    });
  }
  const modelDir = options.active === 'trained' ? trainedDir : untrainedDir;
  const base = await registerInitialModel(db, {
    catalogueId: catalogue.id,
    name: `base-${options.active}`,
    dir: modelDir,
    meta: readModelMeta(modelDir),
  });
  await db.update(settings).set({ threshold: THRESHOLD }).where(eq(settings.catalogueId, catalogue.id));
  await scoreUnscoredItems(db, { catalogueId: catalogue.id });
  const user = await createUserAsSystem(db, {
    email: `${name}-reviewer@example.test`,
    name: 'R',
    password: 'correct horse battery',
    role: 'reviewer',
    passwordCost: 4,
  });
  const adminUser = await createUserAsSystem(db, {
    email: `${name}-admin@example.test`,
    name: 'A',
    password: 'correct horse battery',
    role: 'admin',
    passwordCost: 4,
  });
  const reviewer: Actor = { userId: user.id, role: user.role, email: user.email };
  // Items of this catalogue are t10k rows 0..499, in id order.
  const rowOf = new Map(
    (await db.select({ id: items.id, row: items.sourceRow }).from(items)).map((r) => [r.id, r.row]),
  );
  // The untrained model sends every item to the queue; the trained one only some.
  await db.update(settings).set({ threshold: 0.999 }).where(eq(settings.catalogueId, catalogue.id));
  await simulateReviews(db, {
    actor: reviewer,
    catalogueId: catalogue.id,
    count: options.decisions ?? DECISIONS,
    trueLabel: (id) => t10k.labels[rowOf.get(id)!]!,
  });
  await db.update(settings).set({ threshold: THRESHOLD }).where(eq(settings.catalogueId, catalogue.id));
  return {
    db,
    catalogueId: catalogue.id,
    base,
    reviewer,
    admin: { userId: adminUser.id, role: adminUser.role, email: adminUser.email },
    modelsDir: path.join(dir, `${name}-models`),
  };
}

/** Every catalogue item's label, source and status, by id. */
async function snapshot(db: Db) {
  return new Map(
    (
      await db
        .select({
          id: items.id,
          status: items.status,
          currentLabel: items.currentLabel,
          labelSource: items.labelSource,
        })
        .from(items)
        .where(isNull(items.evalRole))
    ).map((r) => [r.id, r]),
  );
}

async function predictionsOf(db: Db, modelVersionId: number) {
  return new Map(
    (await db.select().from(predictions).where(eq(predictions.modelVersionId, modelVersionId))).map((p) => [
      p.itemId,
      p,
    ]),
  );
}

describe('a candidate trained on shuffled labels', () => {
  it('is rejected for losing holdout accuracy, with the reason stored, and changes nothing else', async () => {
    const loop = await makeLoop({ active: 'trained' });
    const before = await snapshot(loop.db);
    const result = await runRetrain(loop.db, {
      catalogueId: loop.catalogueId,
      options: { modelsDir: loop.modelsDir, layers: 'all', learningRate: 3e-3, epochs: 1, shuffleTrainingLabels: true },
    });
    const metrics = FineTuneMetrics.parse(result.candidate.metrics);

    expect(result.promoted).toBe(false);
    expect(result.rescore).toBeNull();
    expect(result.decision.reason).toMatch(/^Rejected: holdout accuracy fell from [\d.]+% to [\d.]+%/);
    const row = (await loop.db
      .select()
      .from(modelVersions)
      .where(eq(modelVersions.id, result.candidate.id))
      .limit(1)
      .then(firstRow))!;
    expect(row).toMatchObject({ status: 'rejected', parentId: loop.base.id, arch: 'mlp' });
    expect(FineTuneMetrics.parse(row.metrics).decision).toMatchObject({
      promote: false,
      reason: result.decision.reason,
    });
    expect(metrics.holdout.accuracy!).toBeLessThan(metrics.active.holdout.accuracy! - 0.05);
    expect(metrics.settings.shuffleTrainingLabels).toBe(true);
    expect((await findActiveModel(loop.db, loop.catalogueId))?.id).toBe(loop.base.id);
    expect(await snapshot(loop.db)).toEqual(before);
    // Its folder stays (an admin may still look at it or override), complete.
    expect(readModelMeta(row.weightsPath).initFrom).toBe(loop.base.weightsPath);
  });
});

describe('recalibration', () => {
  it("carries the active model's temperature over, scaled by how fine-tuning changed the fit on the validation slice", async () => {
    const { model } = await loadModel(trainedDir);
    const slice = (start: number, count: number) => ({
      pixels: t10k.images.pixels.slice(start * 784, (start + count) * 784),
      labels: t10k.labels.slice(start, start + count),
      count,
    });
    const settings = {
      epochs: 1,
      learningRate: 1e-6,
      batchSize: 64,
      seed: 1,
      layers: 'head' as const,
      inferenceModeLayers: true,
    };
    const tuned = await fineTune({
      model,
      fit: slice(0, 256),
      validation: slice(256, 300),
      numClasses: 10,
      testTimeAugmentation: 'none',
      augment: AUGMENT_PRESETS.clothing,
      parentTemperature: 1.3,
      settings,
    });
    model.dispose();
    // A nudge: the fits barely move, and the temperature stays the active model's.
    expect(tuned.fittedAfter / tuned.fittedBefore).toBeGreaterThan(0.9);
    expect(tuned.fittedAfter / tuned.fittedBefore).toBeLessThan(1.1);
    expect(tuned.temperature).toBeCloseTo((1.3 * tuned.fittedAfter) / tuned.fittedBefore, 10);
    expect(tuned.validationAccuracy).toBeCloseTo(tuned.validationAccuracyBefore, 1);
  });
});

describe('a better candidate', () => {
  let loop: Loop;
  let before: Awaited<ReturnType<typeof snapshot>>;
  let basePredictions: Awaited<ReturnType<typeof predictionsOf>>;
  let heldItemId: number;
  let candidate: ModelVersion;

  beforeAll(async () => {
    loop = await makeLoop({ active: 'untrained' });
    // A reviewer has an item open while the model is promoted.
    heldItemId = (await claimNext(loop.db, { actor: loop.reviewer, catalogueId: loop.catalogueId }))!.itemId;
    before = await snapshot(loop.db);
    basePredictions = await predictionsOf(loop.db, loop.base.id);
  });

  it('is promoted, with its metrics and the active model measured beside it', async () => {
    const phases: RetrainProgress['phase'][] = [];
    const result = await runRetrain(loop.db, {
      catalogueId: loop.catalogueId,
      options: { modelsDir: loop.modelsDir, layers: 'all', learningRate: 1e-3, epochs: 2 },
      onProgress: (p) => phases.push(p.phase),
    });
    candidate = result.candidate;
    const metrics = FineTuneMetrics.parse(candidate.metrics);
    expect(result.decision.reason).toMatch(/^Promoted: /);
    expect(result.promoted).toBe(true);
    expect(candidate).toMatchObject({ status: 'active', parentId: loop.base.id });
    expect(
      (await loop.db.select().from(modelVersions).where(eq(modelVersions.id, loop.base.id)).limit(1).then(firstRow))
        ?.status,
    ).toBe('retired');
    expect((await findActiveModel(loop.db, loop.catalogueId))?.id).toBe(candidate.id);
    expect(fs.existsSync(path.join(candidate.weightsPath, 'weights.bin'))).toBe(true);
    // Calibrated on its own training images when saved, so it can be scored in int8 too.
    expect(Object.keys(readModelMeta(candidate.weightsPath).int8?.ranges ?? {}).length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(candidate.weightsPath, 'model.int8.onnx'))).toBe(true);
    expect(candidate.weightsPath.startsWith(path.join(loop.modelsDir, 'fm'))).toBe(true);
    expect(candidate.temperature).toBe(metrics.temperature);
    // Fine-tuned from an untrained model, the candidate is no nudge of it: the two fits on the
    // validation slice differ by far more than 2x, and the candidate keeps its own fit.
    expect(metrics.temperatureFit.activeOnSlice / metrics.temperatureFit.candidateOnSlice).toBeGreaterThan(2);
    expect(metrics.temperature).toBeCloseTo(metrics.temperatureFit.candidateOnSlice, 10);

    const humanIds = [...before.values()].filter((r) => r.labelSource === 'human').map((r) => r.id);
    expect(humanIds).toHaveLength(DECISIONS);
    expect(metrics.humanLabelsUsed).toBe(humanIds.filter((id) => !isHeldOutHumanLabel(id)).length);
    expect(metrics.heldOutHumanLabels).toBe(humanIds.filter(isHeldOutHumanLabel).length);
    expect(metrics.replayUsed).toBe(1000);
    expect(metrics.holdout).toMatchObject({ total: HOLDOUT_ITEMS });
    expect(metrics.holdout.accuracy!).toBeGreaterThan(metrics.active.holdout.accuracy! + 0.3);
    expect(metrics.heldOutHuman.accuracy!).toBeGreaterThan(metrics.active.heldOutHuman.accuracy!);
    expect(metrics.active).toMatchObject({ modelVersionId: loop.base.id, name: 'base-untrained' });
    expect(metrics.ece).toBeGreaterThanOrEqual(0);
    expect(metrics.epochs.length).toBeGreaterThanOrEqual(1);
    expect(metrics.throughReviewId).toBeGreaterThan(0);
    expect(result.timings).toHaveProperty('rescore');
    expect(phases).toEqual(
      expect.arrayContaining(['preparing', 'training', 'evaluating', 'deciding', 'rescoring', 'done']),
    );
    expect(phases.at(-1)).toBe('done');
  });

  it('re-scores and re-routes every model-labelled item, except the one a reviewer holds; human labels stay', async () => {
    const after = await snapshot(loop.db);
    const fresh = await predictionsOf(loop.db, candidate.id);
    let left = 0;
    for (const [id, was] of before) {
      const now = after.get(id)!;
      if (was.labelSource === 'human' || id === heldItemId) {
        expect(now, `item ${id}`).toEqual(was);
        continue;
      }
      const p = fresh.get(id)!;
      expect(now.currentLabel).toBe(p.predictedClass);
      expect(now.labelSource).toBe('model');
      expect(now.status).toBe(
        routeItem(
          { itemId: id, predictedClass: p.predictedClass, confidence: p.confidence },
          await getRoutingRules(loop.db, loop.catalogueId),
        ).status,
      );
      if (was.status === 'needs_review' && now.status === 'auto_accepted') left++;
    }
    // The untrained model queued everything; the fine-tuned one is sure of many.
    expect(left).toBeGreaterThan(50);
    // The held item keeps its place but has the new prediction for when it is decided.
    expect(fresh.has(heldItemId)).toBe(true);
    expect(
      (await loop.db.select().from(leases).where(eq(leases.itemId, heldItemId)).limit(1).then(firstRow))?.reviewerId,
    ).toBe(loop.reviewer.userId);
    // Human labels got no routing prediction: only the held-out ones were measured on.
    const humanPredicted = [...before.values()].filter((r) => r.labelSource === 'human' && fresh.has(r.id));
    expect(humanPredicted.every((r) => isHeldOutHumanLabel(r.id))).toBe(true);
  });

  it('rolls back: the earlier version active again, its own predictions and routing restored', async () => {
    await promoteAndRescore(loop.db, { actor: loop.admin, modelVersionId: loop.base.id });
    const result = await rescoreCatalogue(loop.db, { catalogueId: loop.catalogueId });
    expect(result).toMatchObject({ modelVersionId: loop.base.id, predicted: 0, superseded: false });
    expect(result.reused).toBe(CATALOGUE_ITEMS - DECISIONS);
    expect(result.entered).toBeGreaterThan(50);
    expect(await snapshot(loop.db)).toEqual(before);
    const restored = await predictionsOf(loop.db, loop.base.id);
    for (const [id, p] of basePredictions) expect(restored.get(id)).toEqual(p);
    expect(
      (await loop.db.select().from(modelVersions).where(eq(modelVersions.id, candidate.id)).limit(1).then(firstRow))
        ?.status,
    ).toBe('retired');
  });
});

describe('runRetrain refuses or fails cleanly', () => {
  it('refuses a catalogue without holdout items, or without human labels to hold out', async () => {
    const noHoldout = await makeLoop({ active: 'untrained', holdout: false, decisions: 30 });
    await expectAppError(
      () =>
        runRetrain(noHoldout.db, { catalogueId: noHoldout.catalogueId, options: { modelsDir: noHoldout.modelsDir } }),
      'bad_input',
      /no holdout items/,
    );
    const noLabels = await makeLoop({ active: 'untrained', decisions: 0 });
    await expectAppError(
      () => runRetrain(noLabels.db, { catalogueId: noLabels.catalogueId, options: { modelsDir: noLabels.modelsDir } }),
      'bad_input',
      /Not enough human labels/,
    );
    expect(await noLabels.db.select().from(modelVersions)).toHaveLength(1);
  });

  it('leaves no row and no folder when it fails after training', async () => {
    const loop = await makeLoop({ active: 'untrained', decisions: 100 });
    const failAt = (p: RetrainProgress) => {
      if (p.phase === 'evaluating') throw new Error('the job lease was lost');
    };
    await expect(
      runRetrain(loop.db, {
        catalogueId: loop.catalogueId,
        options: { modelsDir: loop.modelsDir, layers: 'all', epochs: 1 },
        onProgress: failAt,
      }),
    ).rejects.toThrow('the job lease was lost');
    expect(await loop.db.select().from(modelVersions).where(ne(modelVersions.id, loop.base.id))).toEqual([]);
    const catalogueDir = path.join(loop.modelsDir, 'fm');
    expect(fs.existsSync(catalogueDir) ? fs.readdirSync(catalogueDir) : []).toEqual([]);
    expect((await findActiveModel(loop.db, loop.catalogueId))?.id).toBe(loop.base.id);
    expect(
      await loop.db
        .select()
        .from(items)
        .where(and(eq(items.labelSource, 'human'))),
    ).toHaveLength(100);
  });
});
