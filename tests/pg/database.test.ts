/**
 * Loupe's database layer on a real PostgreSQL server: migrations, transactions (SERIALIZABLE,
 * run again when they lose a race), and the SQLite table objects read and written through the
 * PostgreSQL driver with the same values.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstRow, withTransaction, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { claimInTwoProcesses } from '../fixtures/claim-jobs';
import { catalogues, items, jobs, queueCounts } from '@/db/schema';
import { freshPgDb, type PgTestDb } from './pg-db';

let t: PgTestDb;
beforeAll(async () => {
  t = await freshPgDb();
});
afterAll(async () => {
  await t.drop();
});

const row = (slug: string, name: string) => ({ slug, name, classNames: ['a', 'b'] });
const nameOf = async (db: Db, slug: string) =>
  (await db.select().from(catalogues).where(eq(catalogues.slug, slug)).limit(1).then(firstRow))?.name;

describe('PostgreSQL', () => {
  it('migrates again without change, and two processes migrating at once both succeed', async () => {
    await migrateDb(t.db);
    const fresh = await freshPgDb();
    try {
      const child = path.join(import.meta.dirname, 'migrate-child.ts');
      const run = () =>
        new Promise<number>((resolve) =>
          spawn(process.execPath, ['--import', 'tsx', child, fresh.url], { stdio: 'inherit' }).on('exit', (code) =>
            resolve(code ?? -1),
          ),
        );
      expect(await Promise.all([run(), run()])).toEqual([0, 0]);
      expect(await fresh.db.select().from(catalogues)).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });

  it('reads back what it wrote: dates, JSON, buffers, flags', async () => {
    const [catalogue] = await t.db.insert(catalogues).values(row('values', 'V')).returning();
    expect(catalogue!.classNames).toEqual(['a', 'b']);
    expect(catalogue!.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(catalogue!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    const pixels = Buffer.alloc(784, 7);
    const [item] = await t.db
      .insert(items)
      .values({ catalogueId: catalogue!.id, pixels, contentHash: 'h', source: 's', sourceRow: 0 })
      .returning();
    expect(Buffer.compare(item!.pixels, pixels)).toBe(0);
    expect(item!.status).toBe('unscored');
  });

  it('keeps the constraints: foreign keys, checks, unique indexes', async () => {
    const insertItem = (catalogueId: number) =>
      t.db
        .insert(items)
        .values({ catalogueId, pixels: Buffer.alloc(784), contentHash: 'h', source: 's', sourceRow: 1 });
    await expect(insertItem(999_999)).rejects.toThrow();
    await expect(
      t.db
        .insert(items)
        .values({ catalogueId: 1, pixels: Buffer.alloc(10), contentHash: 'h', source: 's', sourceRow: 2 }),
    ).rejects.toThrow();
    await t.db.insert(catalogues).values(row('unique', 'U'));
    await expect(t.db.insert(catalogues).values(row('unique', 'U2'))).rejects.toThrow();
  });

  it('runs racing read-then-write transactions as if one after the other (SERIALIZABLE, run again on a lost race)', async () => {
    await t.db.insert(catalogues).values(row('counter', '0'));
    const bump = () =>
      withTransaction(
        t.db,
        async (tx) => {
          const n = Number(await nameOf(tx, 'counter'));
          await new Promise((resolve) => setTimeout(resolve, 5));
          await tx
            .update(catalogues)
            .set({ name: String(n + 1) })
            .where(eq(catalogues.slug, 'counter'));
        },
        { behavior: 'immediate' },
      );
    await Promise.all(Array.from({ length: 6 }, bump));
    expect(await nameOf(t.db, 'counter')).toBe('6');
  });

  it('rolls a failed transaction back whole; a nested one is a savepoint', async () => {
    await expect(
      withTransaction(t.db, async (tx) => {
        await tx.insert(catalogues).values(row('gone', '1'));
        throw new Error('fails');
      }),
    ).rejects.toThrow('fails');
    expect(await nameOf(t.db, 'gone')).toBeUndefined();
    await withTransaction(t.db, async (tx) => {
      await tx.insert(catalogues).values(row('kept', '1'));
      await withTransaction(tx, async (inner) => {
        await inner.insert(catalogues).values(row('inner', '2'));
        throw new Error('inner fails');
      }).catch(() => {});
    });
    expect(await nameOf(t.db, 'kept')).toBe('1');
    expect(await nameOf(t.db, 'inner')).toBeUndefined();
  });

  it('the queue triggers keep queue_counts as items enter and leave review', async () => {
    const [catalogue] = await t.db.insert(catalogues).values(row('queue', 'Q')).returning();
    const add = (sourceRow: number, status: 'needs_review' | 'unscored') =>
      t.db
        .insert(items)
        .values({
          catalogueId: catalogue!.id,
          pixels: Buffer.alloc(784),
          contentHash: 'q',
          source: 'q',
          sourceRow,
          status,
        })
        .returning()
        .then(firstRow);
    const a = await add(1, 'needs_review');
    await add(2, 'needs_review');
    const c = await add(3, 'unscored');
    await t.db.update(items).set({ status: 'needs_review', routingReason: 'audit' }).where(eq(items.id, c!.id));
    await t.db.update(items).set({ status: 'reviewed' }).where(eq(items.id, a!.id));
    const counts = await t.db.select().from(queueCounts).where(eq(queueCounts.catalogueId, catalogue!.id));
    expect(counts).toEqual([{ catalogueId: catalogue!.id, waiting: 2, waitingAudit: 1 }]);
  });

  it('two worker processes claiming jobs at once never take the same job, and take them all', async () => {
    const count = 200;
    await t.db
      .insert(jobs)
      .values(Array.from({ length: count }, (_, i) => ({ kind: 'score' as const, payload: { catalogueId: 1, n: i } })));
    const [a, b] = await claimInTwoProcesses(t.url);
    const all = [...a, ...b];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(count);
    expect(Math.min(a.length, b.length)).toBeGreaterThan(count / 10);
    const done = await t.db.select().from(jobs);
    expect(done.every((j) => j.status === 'succeeded' && j.attempts === 1)).toBe(true);
  });
});
