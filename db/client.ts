import type Database from 'better-sqlite3';
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { getEnv } from '@/lib/env';
import { connectionOf, type Db, type TransactionBehavior, type Tx } from './handle';
import { setProcessDialect } from './dialect';
import { openPostgres } from './postgres';
import { openSqlite } from './sqlite';

export type { Db, Reader, TransactionBehavior, Tx } from './handle';
export { WAL_AUTOCHECKPOINT_PAGES, WAL_CHECKPOINT_MS } from './sqlite';

/**
 * Runs `fn` in one transaction: every statement it awaits on `tx` commits together, or none
 * does if it throws. `immediate` takes the write lock at the start (every transaction that
 * writes after reading should, or SQLite may refuse its first write with SQLITE_BUSY); see
 * TransactionBehavior (db/handle.ts) for 'locking'. The body
 * must await only database work: on SQLite the process's other requests wait while it runs.
 */
export function withTransaction<T>(
  db: Db,
  fn: (tx: Tx) => Promise<T>,
  options: { behavior?: TransactionBehavior } = {},
): Promise<T> {
  return connectionOf(db).transaction(db, fn, options.behavior ?? 'deferred');
}

/**
 * Runs synchronous code on the better-sqlite3 connection itself (bulk loads, hand-tuned
 * statements), with no other statement of this process in between. SQLite only.
 */
export function withSqlite<T>(db: Db, fn: (sqlite: Database.Database) => T): Promise<T> {
  return connectionOf(db).exclusive(db, fn);
}

/**
 * Copies what the WAL holds into the database file without waiting for readers or writers
 * (PASSIVE): the worker calls it every WAL_CHECKPOINT_MS so that no web request pays for it.
 * PostgreSQL checkpoints on its own: nothing to do there.
 */
export async function checkpointWal(db: Db): Promise<void> {
  if (dialectOf(db) === 'sqlite') await withSqlite(db, (sqlite) => sqlite.pragma('wal_checkpoint(PASSIVE)'));
}

/** Closes the connection (SQLite) or the pool (PostgreSQL); statements still waiting fail. */
export async function closeDb(db: Db): Promise<void> {
  await connectionOf(db).close();
}

/** Which database a handle is on. */
export function dialectOf(db: Db): 'sqlite' | 'postgres' {
  return connectionOf(db).dialect;
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

/**
 * Opens the database: a PostgreSQL URL (postgres://...) opens a pool of connections to it,
 * anything else is a SQLite file (created with its folder when missing).
 */
export function openDb(target: string): Db {
  if (isPostgresUrl(target)) {
    setProcessDialect('postgres');
    return openPostgres(target, getEnv().LOUPE_DATABASE_POOL_SIZE);
  }
  setProcessDialect('sqlite');
  return openSqlite(target);
}

// Cached on globalThis, not in a module variable: Next's dev server re-evaluates modules on
// every change, and each evaluation would otherwise open (and leak) another connection.
const globalForDb = globalThis as typeof globalThis & { __loupeDb?: Db };

/** The process's database: LOUPE_DATABASE_URL (or DATABASE_URL) when set, else the SQLite file at LOUPE_DB. */
export function getDb(): Db {
  const env = getEnv();
  globalForDb.__loupeDb ??= openDb(env.LOUPE_DATABASE_URL ?? env.LOUPE_DB);
  return globalForDb.__loupeDb;
}

/**
 * How many rows an awaited INSERT, UPDATE or DELETE without RETURNING changed: SQLite's driver
 * calls it `changes`, node-postgres `rowCount`.
 */
export function changedRows(result: unknown): number {
  const { changes, rowCount } = result as { changes?: number; rowCount?: number | null };
  return changes ?? rowCount ?? 0;
}

/** The first row of an awaited query, or undefined: what SQLite's `.get()` gave, on every driver. */
export function firstRow<T>(rows: T[]): T | undefined {
  return rows[0];
}

/** The one row an INSERT ... RETURNING (or a query that cannot come back empty) gave. */
export function onlyRow<T>(rows: T[]): T {
  const row = rows[0];
  if (row === undefined) throw new Error('The query returned no row where one was certain.');
  return row;
}

/** What a raw statement on PostgreSQL gives back: node-postgres's rows and count. */
export interface PgResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number;
}

/**
 * Runs one raw statement on PostgreSQL, through `db` or a transaction's `tx`: the PostgreSQL
 * side of a path whose SQLite side runs hand-tuned better-sqlite3 statements (withSqlite).
 */
export async function pgExecute<Row = Record<string, unknown>>(db: Db, query: SQL): Promise<PgResult<Row>> {
  if (dialectOf(db) !== 'postgres') throw new Error('pgExecute runs PostgreSQL statements; this handle is on SQLite.');
  const result = await (
    db as unknown as { execute(q: SQL): Promise<{ rows: Row[]; rowCount: number | null }> }
  ).execute(query);
  return { rows: result.rows, rowCount: result.rowCount ?? 0 };
}

/**
 * In a 'locking' transaction: locks the rows of `table` where `column` = `value` until this
 * transaction ends, and the statements after this see them as last committed.
 * - share: a transaction that changes them (a promotion, a threshold change) waits for this
 *   one; one that changed them first is seen.
 * - update: one holder at a time (promotions of one catalogue, in turn).
 * On PostgreSQL a row lock; SQLite's transactions already hold the whole database.
 */
export async function lockRows(
  tx: Tx,
  input: { table: SQLWrapper; column: SQLWrapper; value: number; mode: 'share' | 'update' },
): Promise<void> {
  if (dialectOf(tx) !== 'postgres') return;
  const mode = input.mode === 'share' ? sql`for share` : sql`for update`;
  await pgExecute(tx, sql`select 1 from ${input.table} where ${input.column} = ${input.value} ${mode}`);
}
