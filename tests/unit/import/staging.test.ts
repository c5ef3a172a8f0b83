/**
 * An import in two phases (lib/import/staging.ts): rows are staged in short transactions and
 * only then moved into items, so a large import lets other work run between its chunks, and a
 * process killed part-way leaves the catalogue as before (killed while staging) or the import
 * finished by the next process (killed while moving). The kills are real: a child process
 * SIGKILLs itself in the middle of an import of the same code.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { asc, count, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDb, openDb, type Db, firstRow } from '@/db/client';
import { queryGet } from '@/lib/dashboards/common';
import { databaseTarget } from '../../test-database';
import { migrateDb } from '@/db/migrate';
import { importRows, imports, items } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { ensureCatalogue, importItems, importItemsInChunks, recoverImports, type ImportItem } from '@/lib/import';
import { IMPORT_CHUNK_ROWS, listUnfinishedImports } from '@/lib/import/staging';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { tempDir } from '../review/fixtures';

const tmp = tempDir('loupe-staging-');
afterAll(tmp.cleanup);
const root = path.resolve(import.meta.dirname, '..', '..', '..');

async function freshDbPath(): Promise<string> {
  const file = path.join(tmp.dir, `${Math.random().toString(36).slice(2)}.db`);
  const db = openDb(file);
  await migrateDb(db);
  await ensureCatalogue(db, { slug: 'fashion', name: 'Fashion', classNames: [...FASHION_MNIST_CLASSES] });
  await closeDb(db);
  return file;
}

/** n distinct images (i in the first two pixels). */
function makeItems(n: number): ImportItem[] {
  return Array.from({ length: n }, (_, i) => ({
    pixels: new Uint8Array(784).fill(i % 256).fill(Math.floor(i / 256), 1, 2),
    label: i % 10,
    sourceRow: i,
  }));
}

const countOf = async (db: Db, table: typeof items | typeof imports | typeof importRows) =>
  (await db.select({ n: count() }).from(table).limit(1).then(firstRow))!.n;

/** Runs an import of `rows` rows in a child process that SIGKILLs itself at the first progress of `phase`. */
function importAndDie(dbPath: string, rows: number, phase: 'checking' | 'adding'): number | null {
  const script = path.join(tmp.dir, `die-${phase}.ts`);
  fs.writeFileSync(
    script,
    `import { openDb } from '@/db/client';
import { importItems } from '@/lib/import';
const db = openDb(${JSON.stringify(databaseTarget(dbPath))});
const items = Array.from({ length: ${rows} }, (_, i) => ({
  pixels: new Uint8Array(784).fill(i % 256).fill(Math.floor(i / 256), 1, 2), label: i % 10, sourceRow: i }));
importItems(db, { catalogueSlug: 'fashion', kind: 'idx', source: 'big.idx', items,
  onProgress: (done, total, phase) => { if (phase === ${JSON.stringify(phase)}) process.kill(process.pid, 'SIGKILL'); } });
`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(child.signal, child.stderr).toBe('SIGKILL');
  return child.status;
}

describe('an import in chunks', () => {
  it('stages and moves in chunks of IMPORT_CHUNK_ROWS, reporting both phases, and ends done', async () => {
    const db = openDb(await freshDbPath());
    const progress: string[] = [];
    const rows = IMPORT_CHUNK_ROWS * 2 + 10;
    const result = await importItems(db, {
      catalogueSlug: 'fashion',
      kind: 'idx',
      source: 'mem',
      items: makeItems(rows),
      onProgress: (done, total, phase) => progress.push(`${phase} ${done}/${total}`),
    });
    expect(result).toMatchObject({ total: rows, inserted: rows, alreadyPresent: 0, duplicates: 0 });
    expect(progress).toEqual([
      `checking ${IMPORT_CHUNK_ROWS}/${rows}`,
      `checking ${IMPORT_CHUNK_ROWS * 2}/${rows}`,
      `checking ${rows}/${rows}`,
      `adding ${IMPORT_CHUNK_ROWS}/${rows}`,
      `adding ${IMPORT_CHUNK_ROWS * 2}/${rows}`,
      `adding ${rows}/${rows}`,
    ]);
    expect(await db.select().from(imports).limit(1).then(firstRow)).toMatchObject({
      state: 'done',
      stagedCount: rows,
      insertedCount: rows,
    });
    expect(await countOf(db, importRows)).toBe(0);
    // Items keep the file's order.
    const order = await db.select({ row: items.sourceRow }).from(items).orderBy(asc(items.id));
    expect(order.map((r) => r.row)).toEqual(Array.from({ length: rows }, (_, i) => i));
  });

  it('lets other work run between chunks when run in chunks', async () => {
    const db = openDb(await freshDbPath());
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await importItemsInChunks(db, {
      catalogueSlug: 'fashion',
      kind: 'idx',
      source: 'mem',
      items: makeItems(IMPORT_CHUNK_ROWS * 3),
    });
    running = false;
    expect(result.inserted).toBe(IMPORT_CHUNK_ROWS * 3);
    // Three staging and three moving chunks, each followed by a turn of the event loop.
    expect(ticks).toBeGreaterThanOrEqual(6);
  });

  it('refuses a second import into a catalogue while one is running, with a 409 sentence', async () => {
    const db = openDb(await freshDbPath());
    let second: unknown = null;
    await importItemsInChunks(db, {
      catalogueSlug: 'fashion',
      kind: 'idx',
      source: 'first',
      items: makeItems(IMPORT_CHUNK_ROWS * 2),
      onProgress: async (done, _total, phase) => {
        if (phase !== 'checking' || done !== IMPORT_CHUNK_ROWS) return;
        try {
          await importItems(db, { catalogueSlug: 'fashion', kind: 'idx', source: 'second', items: makeItems(3) });
        } catch (error) {
          second = error;
        }
      },
    });
    expect(second).toBeInstanceOf(AppError);
    expect((second as AppError).code).toBe('conflict');
    expect((second as AppError).message).toMatch(
      /^Another import into this catalogue is still running \(import \d+: 2,000 of 4,000 rows checked\); try again/,
    );
    expect(await countOf(db, imports)).toBe(1);
  });

  it('leaves nothing of an import whose process was killed while staging', async () => {
    const dbPath = await freshDbPath();
    importAndDie(dbPath, IMPORT_CHUNK_ROWS * 3, 'checking');
    const db = openDb(dbPath);
    expect(await countOf(db, items)).toBe(0);
    expect(await listUnfinishedImports(db)).toMatchObject([{ state: 'staging', stagedCount: IMPORT_CHUNK_ROWS }]);
    // Its heartbeat is fresh: another process cannot tell it from one still running.
    expect(await recoverImports(db)).toEqual({ rolledBack: [], finished: [] });
    const report = await recoverImports(db, { staleAfterMs: 0 });
    expect(report.rolledBack).toHaveLength(1);
    expect(await countOf(db, imports)).toBe(0);
    expect(await countOf(db, importRows)).toBe(0);
    // The same file imports in full afterwards.
    expect(
      await importItems(db, { catalogueSlug: 'fashion', kind: 'idx', source: 'big.idx', items: makeItems(10) }),
    ).toMatchObject({ inserted: 10 });
  });

  it('finishes an import whose process was killed while moving, each row once', async () => {
    const dbPath = await freshDbPath();
    const rows = IMPORT_CHUNK_ROWS * 3;
    importAndDie(dbPath, rows, 'adding');
    const db = openDb(dbPath);
    // Killed after the first chunk was moved: part of the file is visible, the rest staged.
    expect(await countOf(db, items)).toBe(IMPORT_CHUNK_ROWS);
    const [unfinished] = await listUnfinishedImports(db);
    expect(unfinished).toMatchObject({ state: 'moving', stagedCount: rows });
    const report = await recoverImports(db, { staleAfterMs: 0 });
    expect(report.finished).toEqual([unfinished!.id]);
    expect(await countOf(db, items)).toBe(rows);
    expect(await countOf(db, importRows)).toBe(0);
    expect(await db.select().from(imports).where(eq(imports.id, unfinished!.id)).limit(1).then(firstRow)).toMatchObject(
      {
        state: 'done',
        insertedCount: rows,
      },
    );
    const distinct = await queryGet<{ n: number }>(db, 'select count(distinct source_row) as n from items');
    expect(distinct!.n).toBe(rows);
  });

  it('an abandoned import is ended by the next import into the catalogue', async () => {
    const dbPath = await freshDbPath();
    importAndDie(dbPath, IMPORT_CHUNK_ROWS * 2, 'checking');
    const db = openDb(dbPath);
    // Age the heartbeat past the lease, as 30 s of silence would.
    await db.update(imports).set({ heartbeatAt: new Date(Date.now() - 60_000) });
    const result = await importItems(db, {
      catalogueSlug: 'fashion',
      kind: 'idx',
      source: 'other',
      items: makeItems(5),
    });
    expect(result.inserted).toBe(5);
    expect((await db.select().from(imports)).map((row) => row.state)).toEqual(['done']);
  });
});
