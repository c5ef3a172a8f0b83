import path from 'node:path';
import { and, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, predictions } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { countEvaluationItems, countItemsByStatus } from '@/lib/catalogue/summary';
import { findCatalogue } from '@/lib/import';
import { rescoreCatalogue } from '@/lib/learning/rescore';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { saveUntrainedModel } from '@/lib/ml/model-store';
import { claimNext } from '@/lib/review/queue';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { DEMO_CATALOGUE, seedDemoIfEmpty } from '@/lib/seed';
import { setThreshold } from '@/lib/routing/settings';
import { tempDir } from '../review/fixtures';

const { dir, cleanup } = tempDir('loupe-learning-seed-');
afterAll(cleanup);

beforeAll(async () => {
  // A small untrained model stands in for the shipped cnn: scoring 10,000 items stays quick.
  const modelDir = path.join(dir, 'model');
  process.env.LOUPE_MODEL_DIR = modelDir;
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(modelDir, { arch: 'mlp', classNames: [...FASHION_MNIST_CLASSES], seed: 11 });
});

describe('the demo seed', () => {
  it('adds the 5,000-item holdout, which scoring, re-routing, re-scoring and the queue never touch', async () => {
    const db = openDb(path.join(dir, 'seed.db'));
    await migrateDb(db);
    expect(await seedDemoIfEmpty(db)).toBe(true);
    const catalogue = (await findCatalogue(db, DEMO_CATALOGUE.slug))!;
    expect(await countEvaluationItems(db, catalogue.id)).toEqual({ holdout: 5000 });
    const holdout = and(eq(items.catalogueId, catalogue.id), eq(items.evalRole, 'holdout'));
    const holdoutState = async () =>
      await db
        .select({
          status: items.status,
          labelSource: items.labelSource,
          n: sql<number>`count(*)`,
          labelled: sql<number>`sum(case when ${items.currentLabel} = ${items.importLabel} then 1 else 0 end)`,
        })
        .from(items)
        .where(holdout)
        .groupBy(items.status, items.labelSource);
    const expected = [{ status: 'reviewed', labelSource: 'import', n: 5000, labelled: 5000 }];
    expect(await holdoutState()).toEqual(expected);

    await scoreUnscoredItems(db, { catalogueId: catalogue.id });
    expect((await countItemsByStatus(db, catalogue.id)).unscored ?? 0).toBe(0);
    expect(Object.values(await countItemsByStatus(db, catalogue.id)).reduce((a, b) => a + b, 0)).toBe(10_000);
    const holdoutIds = (await db.select({ id: items.id }).from(items).where(holdout)).map((r) => r.id);
    expect(
      (
        await db
          .select({ n: sql<number>`count(*)` })
          .from(predictions)
          .where(inArray(predictions.itemId, holdoutIds.slice(0, 500)))
          .limit(1)
          .then(firstRow)
      )?.n,
    ).toBe(0);

    const user = await createUserAsSystem(db, {
      email: 'seed-admin@example.test',
      name: 'A',
      password: 'correct horse battery',
      role: 'admin',
      passwordCost: 4,
    });
    const admin: Actor = { userId: user.id, role: user.role, email: user.email };
    await setThreshold(db, { actor: admin, catalogueId: catalogue.id, threshold: 0.11 });
    await rescoreCatalogue(db, { catalogueId: catalogue.id });
    await setThreshold(db, { actor: admin, catalogueId: catalogue.id, threshold: 0.95 });
    expect(await holdoutState()).toEqual(expected);

    const claimed: number[] = [];
    for (let i = 0; i < 30; i++) {
      const id = (await claimNext(db, { actor: admin, catalogueId: catalogue.id }))?.itemId;
      if (id !== undefined) claimed.push(id);
    }
    expect(claimed.length).toBe(30);
    expect(
      await db
        .select({ id: items.id })
        .from(items)
        .where(and(inArray(items.id, claimed), isNotNull(items.evalRole))),
    ).toEqual([]);
    // A second seed adds nothing.
    expect(await seedDemoIfEmpty(db)).toBe(false);
  });
});
