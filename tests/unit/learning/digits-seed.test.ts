import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues, imports, items, modelVersions } from '@/db/schema';
import { countEvaluationItems, countItemsByStatus } from '@/lib/catalogue/summary';
import { ensureCatalogue, findCatalogue } from '@/lib/import';
import { readDigitsSplits } from '@/lib/learning/digits-data';
import { sampleReplay } from '@/lib/learning/replay';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { saveUntrainedModel } from '@/lib/ml/model-store';
import { findActiveModel } from '@/lib/models/active';
import { DEMO_CATALOGUE, DIGITS_CATALOGUE, seedDigitsDemo } from '@/lib/seed';
import { tempDir } from '../review/fixtures';

const { dir, cleanup } = tempDir('loupe-digits-seed-');
afterAll(cleanup);

// Small untrained models stand in for the shipped ones: the seed only reads their meta.json.
const digitsModel = path.join(dir, 'digits-model');
const fashionModel = path.join(dir, 'fashion-model');
beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(digitsModel, {
    arch: 'mlp',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    seed: 3,
  });
  await saveUntrainedModel(fashionModel, { arch: 'mlp', classNames: [...FASHION_MNIST_CLASSES], seed: 3 });
});

let dbCount = 0;
async function freshDb(): Promise<Db> {
  const db = openDb(path.join(dir, `seed-${++dbCount}.db`));
  await migrateDb(db);
  return db;
}

const count = async (db: Db, table: typeof items | typeof imports | typeof catalogues | typeof modelVersions) =>
  (
    await db
      .select({ n: sql<number>`count(*)` })
      .from(table)
      .limit(1)
      .then(firstRow)
  )?.n ?? 0;

describe('the digits demo seed', () => {
  it('on an empty database: classes 0-9, the 1,000 test digits without labels, the 1,000-digit holdout, the shipped model', async () => {
    const db = await freshDb();
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(true);
    const catalogue = (await findCatalogue(db, DIGITS_CATALOGUE.slug))!;
    expect(catalogue.name).toBe('MNIST digits (demo)');
    expect(catalogue.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(await countEvaluationItems(db, catalogue.id)).toEqual({ holdout: 1000 });
    expect(await countItemsByStatus(db, catalogue.id)).toEqual({ unscored: 1000 });

    // The items to review carry no label: the app never sees the test split's answers.
    const labelled = await db
      .select({ role: items.evalRole, n: sql<number>`count(*)`, withLabel: sql<number>`count(${items.importLabel})` })
      .from(items)
      .where(eq(items.catalogueId, catalogue.id))
      .groupBy(items.evalRole);
    labelled.sort((a, b) => (a.role ?? '').localeCompare(b.role ?? ''));
    expect(labelled).toEqual([
      { role: null, n: 1000, withLabel: 0 },
      { role: 'holdout', n: 1000, withLabel: 1000 },
    ]);
    // The holdout's labels are the split's, row for row.
    const splits = readDigitsSplits();
    const holdoutRows = await db
      .select({ row: items.sourceRow, label: items.importLabel })
      .from(items)
      .where(eq(items.evalRole, 'holdout'))
      .orderBy(items.sourceRow);
    expect(holdoutRows.map((r) => r.row)).toEqual([...splits.holdout.rows]);
    expect(holdoutRows.map((r) => r.label)).toEqual([...splits.holdout.labels]);

    const model = (await findActiveModel(db, catalogue.id))!;
    expect(model.name).toBe('shipped-mlp');
    expect(model.weightsPath).toBe(path.resolve(digitsModel));
  });

  it('gives fine-tuning its replay from the train split, never from the items, holdout or validation', async () => {
    const db = await freshDb();
    await seedDigitsDemo(db, { modelDir: digitsModel });
    const catalogue = (await findCatalogue(db, DIGITS_CATALOGUE.slug))!;
    const replay = await sampleReplay(db, { catalogue, size: 1000, seed: 4 });
    expect(replay.source).toBe('mnist-digits-train');
    expect(replay.count).toBe(1000);
    expect(new Set(replay.labels).size).toBe(10);
    const splits = readDigitsSplits();
    const key = (pixels: Uint8Array, i: number) =>
      Buffer.from(pixels.subarray(i * 784, (i + 1) * 784)).toString('base64');
    const train = new Set(Array.from({ length: splits.train.count }, (_, i) => key(splits.train.pixels, i)));
    for (let i = 0; i < replay.count; i++) expect(train.has(key(replay.pixels, i))).toBe(true);
  });

  it('is idempotent: a second seed adds nothing', async () => {
    const db = await freshDb();
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(true);
    const before = [
      await count(db, catalogues),
      await count(db, items),
      await count(db, imports),
      await count(db, modelVersions),
    ];
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(false);
    expect([
      await count(db, catalogues),
      await count(db, items),
      await count(db, imports),
      await count(db, modelVersions),
    ]).toEqual(before);
    expect(before).toEqual([1, 2000, 2, 1]);
  });

  it('finishes a seed that stopped half-way without duplicating what it had written', async () => {
    const db = await freshDb();
    // A start that died after creating the catalogue: no items, no model yet.
    await ensureCatalogue(db, DIGITS_CATALOGUE);
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(true);
    expect(await count(db, items)).toBe(2000);
    // One that died after its imports but before the model: the imports are found again.
    await db.delete(modelVersions);
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(true);
    expect([await count(db, catalogues), await count(db, items), await count(db, modelVersions)]).toEqual([1, 2000, 1]);
  });

  it('adds the digits to a demo database made before they existed, beside Fashion-MNIST', async () => {
    const db = await freshDb();
    const fashion = await ensureCatalogue(db, DEMO_CATALOGUE);
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(true);
    const digits = (await findCatalogue(db, DIGITS_CATALOGUE.slug))!;
    expect(digits.id).toBeGreaterThan(fashion.id);
    expect(await count(db, catalogues)).toBe(2);
    expect(await countItemsByStatus(db, fashion.id)).toEqual({});
  });

  it('leaves a database of other catalogues alone', async () => {
    const db = await freshDb();
    await ensureCatalogue(db, { slug: 'shoes', name: 'Shoes', classNames: ['boot', 'sandal'] });
    expect(await seedDigitsDemo(db, { modelDir: digitsModel })).toBe(false);
    expect(await findCatalogue(db, DIGITS_CATALOGUE.slug)).toBeUndefined();
    expect(await count(db, items)).toBe(0);
  });

  it('refuses a model that is not a digits model, before writing anything', async () => {
    const db = await freshDb();
    await expect(seedDigitsDemo(db, { modelDir: fashionModel })).rejects.toThrow(/is not a digits model/);
    expect(await count(db, catalogues)).toBe(0);
    await expect(seedDigitsDemo(db, { modelDir: path.join(dir, 'missing') })).rejects.toThrow();
    expect(await count(db, catalogues)).toBe(0);
  });
});
