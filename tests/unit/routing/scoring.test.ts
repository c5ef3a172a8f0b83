import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow, onlyRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, modelVersions, predictions, settings } from '@/db/schema';
import { rescoreCatalogue } from '@/lib/learning/rescore';
import { ensureCatalogue, importItems } from '@/lib/import';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { findActiveModel, registerInitialModel } from '@/lib/models/active';
import { routeByConfidence } from '@/lib/routing/route-by-confidence';
import { getRoutingRules, routeItem } from '@/lib/routing/rules';
import { countItemsByStatus } from '@/lib/catalogue/summary';
import { scoreUnscoredItems } from '@/lib/routing/scoring';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-scoring-'));
const modelDir = path.join(dir, 'model');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(modelDir, { arch: 'lenet5', classNames: [...FASHION_MNIST_CLASSES], seed: 3 });
});

async function setup(): Promise<{ db: Db; catalogueId: number }> {
  const db = openDb(path.join(dir, `${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  const catalogue = await ensureCatalogue(db, { slug: 'demo', name: 'Demo', classNames: [...FASHION_MNIST_CLASSES] });
  await importItems(db, {
    catalogueSlug: 'demo',
    kind: 'idx',
    source: 'test',
    items: Array.from({ length: 30 }, (_, i) => ({
      pixels: new Uint8Array(784).map((_, p) => (p * (i + 1)) % 256),
      label: i < 5 ? i % 10 : null,
      sourceRow: i,
    })),
  });
  await registerInitialModel(db, {
    catalogueId: catalogue.id,
    name: 'test',
    dir: modelDir,
    meta: readModelMeta(modelDir),
  });
  return { db, catalogueId: catalogue.id };
}

describe('routing', () => {
  it('accepts at or above the threshold, queues below it', () => {
    expect(routeByConfidence(0.9, 0.9)).toBe('auto_accepted');
    expect(routeByConfidence(Math.fround(0.9), 0.9)).toBe('auto_accepted');
    expect(routeByConfidence(0.8999, 0.9)).toBe('needs_review');
  });
});

describe('scoring', () => {
  it('scores every unscored item once, labels model items and routes by the threshold', async () => {
    const { db, catalogueId } = await setup();
    await db.update(settings).set({ threshold: 0.15 }).where(eq(settings.catalogueId, catalogueId));
    const result = await scoreUnscoredItems(db, { catalogueId });
    expect(result.scored).toBe(30);
    expect(result.autoAccepted + result.needsReview).toBe(30);
    expect(await db.select().from(predictions)).toHaveLength(30);
    const rows = await db.select().from(items).innerJoin(predictions, eq(predictions.itemId, items.id));
    for (const { items: item, predictions: p } of rows) {
      expect(p.modelVersionId).toBe((await findActiveModel(db, catalogueId))!.id);
      if (item.importLabel === null) {
        expect(item.labelSource).toBe('model');
        expect(item.currentLabel).toBe(p.predictedClass);
        const routed = routeItem(
          { itemId: item.id, predictedClass: p.predictedClass, confidence: p.confidence },
          await getRoutingRules(db, catalogueId),
        );
        expect([item.status, item.routingReason]).toEqual([routed.status, routed.reason]);
      } else {
        // A label from the file is kept; disagreement with the model sends it to review.
        expect(item.labelSource).toBe('import');
        expect(item.currentLabel).toBe(item.importLabel);
        expect(item.status).toBe(item.importLabel === p.predictedClass ? 'auto_accepted' : 'needs_review');
        expect(item.routingReason).toBe(item.importLabel === p.predictedClass ? null : 'disagreement');
      }
      expect(p.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    expect((await scoreUnscoredItems(db, { catalogueId })).scored).toBe(0);
    expect((await countItemsByStatus(db, catalogueId)).unscored ?? 0).toBe(0);
  });

  it('never overwrites a human label', async () => {
    const { db, catalogueId } = await setup();
    const first = (await db.select().from(items).limit(1).then(firstRow))!;
    await db.update(items).set({ currentLabel: 9, labelSource: 'human' }).where(eq(items.id, first.id));
    await scoreUnscoredItems(db, { catalogueId });
    const after = (await db.select().from(items).where(eq(items.id, first.id)).limit(1).then(firstRow))!;
    expect(after.currentLabel).toBe(9);
    expect(after.labelSource).toBe('human');
    expect(after.status).toBe('unscored');
  });
});

describe('scoring gold items', () => {
  it('stores their prediction and marks them reviewed, never routing them or touching their label', async () => {
    const { db, catalogueId } = await setup();
    await importItems(db, {
      catalogueSlug: 'demo',
      kind: 'idx',
      source: 'gold',
      evalRole: 'gold',
      items: Array.from({ length: 6 }, (_, i) => ({
        // Not the catalogue's images (i + 1 above): those would be skipped as duplicates.
        pixels: new Uint8Array(784).map((_, p) => (p * (i + 101)) % 256),
        label: (i * 3) % 10,
        sourceRow: i,
      })),
    });
    const gold = async () => await db.select().from(items).where(eq(items.evalRole, 'gold'));
    expect((await gold()).map((item) => item.status)).toEqual(Array(6).fill('unscored'));
    const result = await scoreUnscoredItems(db, { catalogueId });
    expect(result).toMatchObject({ scored: 30, gold: 6 });
    for (const item of await gold()) {
      expect(item).toMatchObject({
        status: 'reviewed',
        labelSource: 'import',
        currentLabel: item.importLabel,
        routingReason: null,
      });
      expect(await db.select().from(predictions).where(eq(predictions.itemId, item.id))).toHaveLength(1);
    }
    expect((await countItemsByStatus(db, catalogueId)).reviewed ?? 0).toBe(0);
  });

  it('a re-score after a promotion gives gold items a prediction by the new version and changes nothing else', async () => {
    const { db, catalogueId } = await setup();
    await importItems(db, {
      catalogueSlug: 'demo',
      kind: 'idx',
      source: 'gold',
      evalRole: 'gold',
      items: [{ pixels: new Uint8Array(784).fill(200), label: 4, sourceRow: 0 }],
    });
    await scoreUnscoredItems(db, { catalogueId });
    const first = (await findActiveModel(db, catalogueId))!;
    await db.update(modelVersions).set({ status: 'retired' }).where(eq(modelVersions.id, first.id));
    const next = await db
      .insert(modelVersions)
      .values({
        catalogueId,
        name: 'next',
        arch: first.arch,
        weightsPath: first.weightsPath,
        temperature: 2,
        status: 'active',
      })
      .returning()
      .then(onlyRow);
    const gold = (await db.select().from(items).where(eq(items.evalRole, 'gold')).limit(1).then(firstRow))!;
    await rescoreCatalogue(db, { catalogueId });
    expect(await db.select().from(items).where(eq(items.id, gold.id)).limit(1).then(firstRow)).toEqual(gold);
    expect(
      (await db.select({ v: predictions.modelVersionId }).from(predictions).where(eq(predictions.itemId, gold.id)))
        .map((r) => r.v)
        .sort(),
    ).toEqual([first.id, next.id]);
  });

  it('a gold import needs a label on every item', async () => {
    const { db } = await setup();
    await expect(
      async () =>
        await importItems(db, {
          catalogueSlug: 'demo',
          kind: 'idx',
          source: 'gold',
          evalRole: 'gold',
          items: [{ pixels: new Uint8Array(784), label: null, sourceRow: 0 }],
        }),
    ).rejects.toThrow(/a gold item needs its trusted label/);
  });
});
