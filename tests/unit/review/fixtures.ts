/** A fresh migrated database with a scored catalogue and one user per role, for queue/review tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { openDb, type Db, onlyRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, modelVersions, predictions, settings, type ItemStatus } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { ensureCatalogue, importItems } from '@/lib/import';

export const CLASSES = ['zero', 'one', 'two', 'three', 'four'];

export interface FixtureItem {
  predictedClass?: number;
  confidence?: number;
  margin?: number;
  status?: ItemStatus;
  /** No prediction by the active model. */
  unscored?: boolean;
  importLabel?: number;
}

export interface Fixture {
  file: string;
  db: Db;
  catalogueId: number;
  modelVersionId: number;
  itemIds: number[];
  reviewer: Actor;
  reviewer2: Actor;
  admin: Actor;
  ops: Actor;
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;

async function actor(db: Db, role: Actor['role'], name: string): Promise<Actor> {
  const user = await createUserAsSystem(db, {
    email: `${name}-${++counter}@example.test`,
    name,
    password: 'correct horse battery',
    role,
    passwordCost: 4,
  });
  return { userId: user.id, role: user.role, email: user.email };
}

export async function makeFixture(dir: string, list: FixtureItem[]): Promise<Fixture> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.db`);
  const db = openDb(file);
  await migrateDb(db);
  const catalogue = await ensureCatalogue(db, { slug: 'demo', name: 'Demo', classNames: CLASSES });
  await importItems(db, {
    catalogueSlug: 'demo',
    kind: 'idx',
    source: 'fixture',
    // Past 256 items the images repeat (fill(i % 256)): kept, since the tests count items, not images.
    keepDuplicates: true,
    items: list.map((spec, i) => ({
      pixels: new Uint8Array(784).fill(i % 256),
      label: spec.importLabel ?? null,
      sourceRow: i,
    })),
  });
  const model = await db
    .insert(modelVersions)
    .values({ catalogueId: catalogue.id, name: 'm1', arch: 'test', weightsPath: '/nonexistent', status: 'active' })
    .returning()
    .then(onlyRow);
  const rows = await db.select({ id: items.id }).from(items).orderBy(items.sourceRow);
  const itemIds = rows.map((r) => r.id);
  for (const [i, spec] of list.entries()) {
    const id = itemIds[i]!;
    const predictedClass = spec.predictedClass ?? i % CLASSES.length;
    const confidence = spec.confidence ?? 0.5;
    if (!spec.unscored) {
      const probs = CLASSES.map((_, k) =>
        k === predictedClass ? confidence : (1 - confidence) / (CLASSES.length - 1),
      );
      await db.insert(predictions).values({
        itemId: id,
        modelVersionId: model.id,
        probs,
        predictedClass,
        confidence,
        margin: spec.margin ?? confidence - (1 - confidence) / 4,
      });
    }
    const label = spec.importLabel ?? (spec.unscored ? null : predictedClass);
    await db
      .update(items)
      .set({
        status: spec.status ?? 'needs_review',
        currentLabel: label,
        labelSource: spec.importLabel !== undefined ? 'import' : spec.unscored ? null : 'model',
      })
      .where(eq(items.id, id));
  }
  return {
    file,
    db,
    catalogueId: catalogue.id,
    modelVersionId: model.id,
    itemIds,
    reviewer: await actor(db, 'reviewer', 'rita'),
    reviewer2: await actor(db, 'reviewer', 'rob'),
    admin: await actor(db, 'admin', 'ada'),
    ops: await actor(db, 'ops', 'otto'),
  };
}

export async function expectAppError(fn: () => unknown, code: string, message?: RegExp): Promise<void> {
  try {
    await fn();
  } catch (error) {
    const e = error as { name?: string; code?: string; message?: string };
    if (e.name !== 'AppError' || e.code !== code)
      throw new Error(`expected AppError ${code}, got ${e.name} ${e.code}: ${e.message}`);
    if (message && !message.test(e.message ?? '')) throw new Error(`expected message ${message}, got "${e.message}"`);
    return;
  }
  throw new Error(`expected AppError ${code}, nothing was thrown`);
}

/**
 * For target-mode tests: three held-out items (right at 0.95 and 0.7, wrong at 0.92) and one
 * catalogue item waiting at 0.8; threshold 0.9, no audit sample. The lowest threshold reaching
 * 60% is 0.5, reaching 100% is 0.93.
 */
export async function makeTargetFixture(dir: string): Promise<Fixture> {
  const f = await makeFixture(dir, [
    { confidence: 0.95, predictedClass: 0, importLabel: 0 },
    { confidence: 0.92, predictedClass: 1, importLabel: 2 },
    { confidence: 0.7, predictedClass: 2, importLabel: 2 },
    { confidence: 0.8, predictedClass: 3, status: 'needs_review' },
  ]);
  await f.db
    .update(items)
    .set({ evalRole: 'holdout', status: 'reviewed' })
    .where(inArray(items.id, f.itemIds.slice(0, 3)));
  await f.db.update(settings).set({ threshold: 0.9, auditRate: 0 }).where(eq(settings.catalogueId, f.catalogueId));
  return f;
}
