import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { getEnv } from '@/lib/env';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** The handle inside `db.transaction((tx) => ...)`: lib functions that must run in the caller's transaction take it. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Read-only access: a `Db` or a `Tx` both satisfy it. */
export type Reader = Pick<Db, 'select'>;

/**
 * Opens a SQLite file with the settings every Loupe process needs. The web server and the
 * worker share one file: WAL lets readers run beside the one writer, and the busy timeout
 * makes a writer wait for the other's transaction instead of failing with SQLITE_BUSY.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 16_000;

/**
 * How often the worker checkpoints. Every second, not on its 5 s heartbeat: the copy and the
 * database file's fsync stall the web server's commits while they run (the filesystem's
 * journal), about 80 ms for 5 s of 200 reviewers' decisions and 20-40 ms for 1 s of them; with
 * 5 s the paced claims' p99 was 50-57 ms, with 1 s 20 ms (docs/operations.md).
 */
export const WAL_CHECKPOINT_MS = 1_000;

/**
 * Copies what the WAL holds into the database file without waiting for readers or writers
 * (PASSIVE): the worker calls it every WAL_CHECKPOINT_MS so that no web request pays for it.
 */
export function checkpointWal(db: Db): void {
  db.$client.pragma('wal_checkpoint(PASSIVE)');
}

export function openDb(filePath: string): Db {
  if (filePath !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });
  const sqlite = new Database(filePath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  // Off by default in SQLite, per connection; the schema's cascades and references rely on it.
  sqlite.pragma('foreign_keys = ON');
  // Safe with WAL (a crash may lose the last commits, never corrupt) and much faster to commit.
  sqlite.pragma('synchronous = NORMAL');
  // The WAL is copied into the database file (and fsynced) by the worker every few seconds
  // (checkpointWal), outside any request: SQLite's own checkpoint at 1,000 pages ran inside
  // every ~60th decision's commit, the whole of a submit's p99 (3 -> 16 ms at 1M items,
  // docs/operations.md). Kept as a safety net for a process running without the worker, at 64 MB.
  sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  return drizzle(sqlite, { schema });
}

// Cached on globalThis, not in a module variable: Next's dev server re-evaluates modules on
// every change, and each evaluation would otherwise open (and leak) another connection.
const globalForDb = globalThis as typeof globalThis & { __loupeDb?: Db };

/** The process's one connection to the database at LOUPE_DB. */
export function getDb(): Db {
  globalForDb.__loupeDb ??= openDb(getEnv().LOUPE_DB);
  return globalForDb.__loupeDb;
}
