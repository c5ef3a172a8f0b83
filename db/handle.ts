import type Database from 'better-sqlite3';
import type { SqliteRemoteDatabase } from 'drizzle-orm/sqlite-proxy';
import type * as schema from './schema';

/**
 * A handle on the database. Every query is awaited (`await db.select()...`), the way a
 * database server's driver works, so that the same lib functions can run on PostgreSQL
 * (issue 20). On SQLite the handle runs each statement on the process's one better-sqlite3
 * connection; see db/sqlite.ts for how transactions stay whole.
 */
export type Db = SqliteRemoteDatabase<typeof schema> & { $client: Database.Database };

/** The handle inside `withTransaction(db, async (tx) => ...)`: lib functions that must run in the caller's transaction take it. */
export type Tx = Db;

/** Read-only access: a `Db` or a `Tx` both satisfy it. */
export type Reader = Pick<Db, 'select'>;

/**
 * How a transaction isolates itself (db/client.ts withTransaction):
 * - deferred: reads one consistent state.
 * - immediate: reads, then writes on what it read, as if no other transaction ran meanwhile.
 * - locking: its writes are guarded by row locks and compare-and-set conditions of their own
 *   (the review queue's claim), so each statement only needs the latest committed rows.
 */
export type TransactionBehavior = 'deferred' | 'immediate' | 'locking';

/** What db/client.ts needs from a connection, whichever database it is on. */
export interface Connection {
  readonly dialect: 'sqlite' | 'postgres';
  close(): void | Promise<void>;
  transaction<T>(handle: Db, fn: (tx: Tx) => Promise<T>, behavior: TransactionBehavior): Promise<T>;
  exclusive<T>(handle: Db, fn: (sqlite: Database.Database) => T): Promise<T>;
}

/** Where a handle keeps its connection: a registered symbol, the same in every copy of this module. */
export const CONNECTION = Symbol.for('loupe.db.connection');

export function connectionOf(handle: Db): Connection {
  const connection = (handle as Db & { [CONNECTION]?: Connection })[CONNECTION];
  if (!connection) throw new Error('This handle was not opened by openDb.');
  return connection;
}
