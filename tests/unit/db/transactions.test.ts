/**
 * withTransaction on SQLite: one connection per process, so while one call's transaction is
 * open (awaiting between its statements) every other statement of the process must wait for
 * it, or it would join it, read its uncommitted rows, or vanish with its rollback.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, withSqlite, withTransaction, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues } from '@/db/schema';
import { sqliteOnly } from '../../test-database';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-tx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function freshDb(): Promise<Db> {
  const db = openDb(path.join(dir, `${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  return db;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A promise made outside the transaction, resolved from inside it: work that waits on it is another request's. */
function gated(): { gate: Promise<void>; open: () => void } {
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { gate, open };
}

/** A catalogue row stands in for any row: its slug is the key, its name the value. */
const row = (slug: string, name: string) => ({ slug, name, classNames: ['a', 'b'] });

async function valueOf(db: Db, slug: string): Promise<string | undefined> {
  return (await db.select().from(catalogues).where(eq(catalogues.slug, slug)).limit(1).then(firstRow))?.name;
}

describe('withTransaction', () => {
  // SQLite's reads wait for the open transaction; PostgreSQL's read the last commit at once (tests/pg).
  sqliteOnly.it('keeps a read outside the transaction from seeing its uncommitted rows', async () => {
    const db = await freshDb();
    let seenDuring: string | undefined | null = null;
    const { gate, open } = gated();
    // Another request, started outside the transaction, reads while it is open.
    const read = gate.then(() => valueOf(db, 'k')).then((value) => (seenDuring = value));
    await withTransaction(db, async (tx) => {
      await tx.insert(catalogues).values(row('k', 'inside'));
      open();
      await tick();
      expect(seenDuring).toBeNull();
    });
    await read;
    // The read ran after the commit, never in the middle.
    expect(seenDuring).toBe('inside');
  });

  it('a write outside a transaction is neither taken into it nor lost with its rollback', async () => {
    const db = await freshDb();
    const { gate, open } = gated();
    const outside = gate.then(() => db.insert(catalogues).values(row('outside', '2')));
    await expect(
      withTransaction(db, async (tx) => {
        await tx.insert(catalogues).values(row('rolled-back', '1'));
        open();
        await tick();
        throw new Error('the transaction fails');
      }),
    ).rejects.toThrow('the transaction fails');
    await outside;
    expect(await valueOf(db, 'rolled-back')).toBeUndefined();
    expect(await valueOf(db, 'outside')).toBe('2');
  });

  it('runs two transactions one after the other, each whole', async () => {
    const db = await freshDb();
    await db.insert(catalogues).values(row('n', '0'));
    const bump = () =>
      withTransaction(
        db,
        async (tx) => {
          const n = Number(await valueOf(tx, 'n'));
          await tick();
          await tx
            .update(catalogues)
            .set({ name: String(n + 1) })
            .where(eq(catalogues.slug, 'n'));
        },
        { behavior: 'immediate' },
      );
    await Promise.all([bump(), bump(), bump()]);
    // Interleaved read-then-write would lose updates; serialized, all three count.
    expect(await valueOf(db, 'n')).toBe('3');
  });

  it('a nested withTransaction is a savepoint: its failure undoes only its own writes', async () => {
    const db = await freshDb();
    await withTransaction(db, async (tx) => {
      await tx.insert(catalogues).values(row('outer', '1'));
      await withTransaction(tx, async (inner) => {
        await inner.insert(catalogues).values(row('inner', '2'));
        throw new Error('inner fails');
      }).catch(() => {});
    });
    expect(await valueOf(db, 'outer')).toBe('1');
    expect(await valueOf(db, 'inner')).toBeUndefined();
  });

  // SQLite's one connection: on PostgreSQL `db` is the pool, outside the transaction (pass `tx`).
  sqliteOnly.it(
    'the outer handle used inside the transaction (a helper handed db) runs in it, without waiting on itself',
    async () => {
      const db = await freshDb();
      await expect(
        withTransaction(db, async () => {
          await db.insert(catalogues).values(row('through-db', '1'));
          expect(await withSqlite(db, (sqlite) => sqlite.inTransaction)).toBe(true);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await valueOf(db, 'through-db')).toBeUndefined();
    },
  );

  sqliteOnly.it('a tx handle kept past its transaction does not join the next one', async () => {
    const db = await freshDb();
    let kept: Db | undefined;
    await withTransaction(db, async (tx) => {
      kept = tx;
    });
    const { gate, open } = gated();
    const stray = gate.then(() => kept!.insert(catalogues).values(row('stray', '1')).run());
    await expect(
      withTransaction(db, async (tx) => {
        await tx.insert(catalogues).values(row('other', '2'));
        open();
        await tick();
        throw new Error('the other fails');
      }),
    ).rejects.toThrow('the other fails');
    await stray;
    expect(await valueOf(db, 'stray')).toBe('1');
    expect(await valueOf(db, 'other')).toBeUndefined();
  });

  it('work left running after the commit waits for the next transaction like any other', async () => {
    const db = await freshDb();
    let late: Promise<unknown> | undefined;
    const { gate, open } = gated();
    await withTransaction(db, async () => {
      // Started inside the first transaction, it runs only after it has committed.
      late = gate.then(() => db.insert(catalogues).values(row('late', '1')));
    });
    await expect(
      withTransaction(db, async (tx) => {
        await tx.insert(catalogues).values(row('second', '2'));
        open();
        await tick();
        throw new Error('the second fails');
      }),
    ).rejects.toThrow('the second fails');
    await late;
    // Had it joined the second transaction, its row would have gone with the rollback.
    expect(await valueOf(db, 'late')).toBe('1');
  });
});
