import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointWal, openDb, onlyRow, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues, items, modelVersions, reviews, settings, users } from '@/db/schema';
import { sqliteOnly } from '../../test-database';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-db-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function freshDb() {
  const db = openDb(path.join(dir, `nested/${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  return db;
}

describe('openDb + migrateDb', () => {
  sqliteOnly.it('creates the parent folder and sets WAL, busy timeout and foreign keys', async () => {
    const db = await freshDb();
    expect(db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.$client.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.$client.pragma('foreign_keys', { simple: true })).toBe(1);
    // The worker checkpoints (checkpointWal); a request commits without copying the WAL until 64 MB.
    expect(db.$client.pragma('wal_autocheckpoint', { simple: true })).toBe(16_000);
  });

  sqliteOnly.it('commits leave the WAL for the worker: checkpointWal copies it into the database file', async () => {
    const file = path.join(dir, `wal-${Math.random().toString(36).slice(2)}.db`);
    const db = openDb(file);
    await migrateDb(db);
    db.$client.pragma('wal_checkpoint(TRUNCATE)');
    const before = fs.statSync(file).size;
    db.$client.exec('create table filler (x blob)');
    const insert = db.$client.prepare('insert into filler values (randomblob(4000))');
    for (let i = 0; i < 200; i++) insert.run();
    // 200 commits of a page each, far below the automatic checkpoint: all still in the WAL.
    expect(fs.statSync(file).size).toBe(before);
    await checkpointWal(db);
    expect(fs.statSync(file).size).toBeGreaterThan(before + 200 * 4000);
    db.$client.close();
  });

  sqliteOnly.it('is idempotent', async () => {
    const db = await freshDb();
    await migrateDb(db);
    const tables = db.$client.prepare(`select name from sqlite_master where type = 'table' order by name`).all() as {
      name: string;
    }[];
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'catalogues',
        'items',
        'predictions',
        'reviews',
        'leases',
        'model_versions',
        'jobs',
        'imports',
        'settings',
        'settings_changes',
        'users',
      ]),
    );
  });

  it('fills timestamps and JSON defaults in SQL', async () => {
    const db = await freshDb();
    const before = Date.now();
    const cat = await db
      .insert(catalogues)
      .values({ slug: 'c', name: 'C', classNames: ['a', 'b'] })
      .returning()
      .then(onlyRow);
    await db.insert(settings).values({ catalogueId: cat.id });
    expect(cat.createdAt).toBeInstanceOf(Date);
    expect(cat.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(cat.classNames).toEqual(['a', 'b']);
    const row = await db.select().from(settings).where(eq(settings.catalogueId, cat.id)).limit(1).then(firstRow);
    expect(row).toMatchObject({ threshold: 0.9, perClassThresholds: {}, retrainPolicy: { enabled: true } });
  });

  // PostgreSQL's constraints: tests/pg/database.test.ts.
  sqliteOnly.it('enforces the constraints the app relies on', async () => {
    const db = await freshDb();
    const cat = await db
      .insert(catalogues)
      .values({ slug: 'c', name: 'C', classNames: ['a', 'b'] })
      .returning()
      .then(onlyRow);
    const item = { catalogueId: cat.id, contentHash: 'h', source: 's', sourceRow: 0 };
    // Foreign keys are on.
    expect(
      await sqliteError(
        async () => await db.insert(items).values({ ...item, catalogueId: 999, pixels: Buffer.alloc(784) }),
      ),
    ).toMatch(/FOREIGN KEY/);
    // Pixels are exactly 784 bytes.
    expect(await sqliteError(async () => await db.insert(items).values({ ...item, pixels: Buffer.alloc(10) }))).toMatch(
      /CHECK.*items_pixels_length_check/,
    );
    // Enum columns refuse values outside their list.
    expect(
      await sqliteError(() =>
        db.run(
          sql`insert into items (catalogue_id, pixels, content_hash, source, source_row, status) values (${cat.id}, zeroblob(784), 'h', 's', 1, 'done')`,
        ),
      ),
    ).toMatch(/CHECK.*items_status_check/);
    // One active model per catalogue.
    const model = { catalogueId: cat.id, arch: 'cnn', weightsPath: '/m', status: 'active' as const };
    await db.insert(modelVersions).values({ ...model, name: 'v1' });
    expect(await sqliteError(async () => await db.insert(modelVersions).values({ ...model, name: 'v2' }))).toMatch(
      /UNIQUE/,
    );
    // A review's client id records it once.
    const user = await db
      .insert(users)
      .values({ email: 'r@x', name: 'R', passwordHash: 'x' })
      .returning()
      .then(onlyRow);
    const itemId = (
      await db
        .insert(items)
        .values({ ...item, pixels: Buffer.alloc(784) })
        .returning()
        .then(onlyRow)
    ).id;
    const review = { itemId, reviewerId: user.id, action: 'confirm' as const, durationMs: 900, clientId: 'c-1' };
    await db.insert(reviews).values(review);
    expect(await sqliteError(async () => await db.insert(reviews).values(review))).toMatch(/UNIQUE.*client_id/);
  });
});

/** The SQLite message behind a failed query (drizzle wraps it in a DrizzleQueryError). */
async function sqliteError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? cause.message : String(error);
  }
  return 'no error';
}
