import { AsyncLocalStorage } from 'node:async_hooks';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import { CONNECTION, type Connection, type Db, type TransactionBehavior, type Tx } from './handle';
import * as schema from './schema';

export const WAL_AUTOCHECKPOINT_PAGES = 16_000;

/**
 * How often the worker checkpoints. Every second, not on its 5 s heartbeat: the copy and the
 * database file's fsync stall the web server's commits while they run (the filesystem's
 * journal), about 80 ms for 5 s of 200 reviewers' decisions and 20-40 ms for 1 s of them; with
 * 5 s the paced claims' p99 was 50-57 ms, with 1 s 20 ms (docs/operations.md).
 */
export const WAL_CHECKPOINT_MS = 1_000;

/** How long a statement waits for another request's transaction before it gives up. */
const LOCK_WAIT_MS = 30_000;

/**
 * The transaction the current async call chain was started in, if any. A chain that outlives
 * its transaction (a promise left running after the commit) no longer matches the connection's
 * open transaction, and waits like any other.
 */
// On globalThis, like the connection itself (getDb): Next may load this module more than once
// (one copy per bundle), and every copy must see the same transactions.
const globalForTx = globalThis as typeof globalThis & { __loupeInsideTransaction?: AsyncLocalStorage<object> };
const insideTransaction = (globalForTx.__loupeInsideTransaction ??= new AsyncLocalStorage<object>());

/** Most distinct SQL texts kept compiled per connection; past it the cache starts over. */
const STATEMENT_CACHE_SIZE = 1_000;

type Method = 'run' | 'all' | 'values' | 'get';

/**
 * One better-sqlite3 connection and the two drizzle handles on it. SQLite runs a transaction
 * on the connection that began it, so while one request's transaction is open (awaiting between
 * its statements) no other statement of this process may run on the connection: it would join
 * that transaction, see its uncommitted rows, or vanish with its rollback. A FIFO lock makes
 * them wait. A statement waits for the lock only while another call chain holds it; one from
 * the open transaction's own call chain runs straight through, on `tx` or on `db` (a helper that
 * was handed `db`), as part of the transaction, as it did when SQLite calls were synchronous. On
 * PostgreSQL `db` would run outside the transaction, so lib code passes `tx` down.
 */
export class SqliteConnection implements Connection {
  readonly dialect = 'sqlite';
  readonly sqlite: Database.Database;
  readonly db: Db;
  readonly tx: Db;
  private locked = false;
  private readonly waiters: Array<() => void> = [];
  private readonly statements = new Map<string, Database.Statement>();
  private depth = 0;
  /** The open transaction's token, while one is open. */
  private open: object | null = null;

  constructor(sqlite: Database.Database) {
    this.sqlite = sqlite;
    // Both handles run a statement at once when no transaction is open or when it comes from the
    // open transaction's own call chain, and wait for the lock otherwise: a `tx` kept past its
    // transaction's end is then as safe as `db`.
    const run = async (text: string, params: unknown[], method: Method) => {
      if (!this.locked || this.holdsLock()) return this.execute(text, params, method);
      await this.acquire();
      try {
        return this.execute(text, params, method);
      } finally {
        this.release();
      }
    };
    this.db = this.handle(run);
    this.tx = this.handle(run);
  }

  private handle(callback: (text: string, params: unknown[], method: Method) => Promise<{ rows: unknown[] }>): Db {
    return Object.assign(drizzle(callback, { schema }), { $client: this.sqlite, [CONNECTION]: this });
  }

  private holdsLock(): boolean {
    return this.open !== null && insideTransaction.getStore() === this.open;
  }

  private statement(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (statement === undefined) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
      statement = this.sqlite.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private execute(text: string, params: unknown[], method: Method): { rows: unknown[] } {
    const statement = this.statement(text);
    if (method === 'run' || !statement.reader) return { rows: [], ...statement.run(...params) };
    // For `get`, drizzle's proxy driver takes the one row itself as `rows`.
    if (method === 'get') return { rows: statement.raw(true).get(...params) as unknown[] };
    return { rows: statement.raw(true).all(...params) as unknown[] };
  }

  async acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `A database statement waited ${LOCK_WAIT_MS / 1000} s for another transaction to end. ` +
              'Inside withTransaction, use its tx handle, not db.',
          ),
        );
      }, LOCK_WAIT_MS);
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }

  /** Runs `fn` in a transaction on this connection; nested calls (from its call chain) use a savepoint. */
  async transaction<T>(_handle: Db, fn: (tx: Tx) => Promise<T>, behavior: TransactionBehavior): Promise<T> {
    if (this.holdsLock()) {
      const savepoint = `sp${++this.depth}`;
      this.sqlite.exec(`savepoint ${savepoint}`);
      try {
        const result = await fn(this.tx);
        this.sqlite.exec(`release savepoint ${savepoint}`);
        return result;
      } catch (error) {
        this.sqlite.exec(`rollback to savepoint ${savepoint}; release savepoint ${savepoint}`);
        throw error;
      } finally {
        this.depth--;
      }
    }
    await this.acquire();
    try {
      // SQLite has one writer at a time: a locking transaction takes the write lock at once too.
      this.sqlite.exec(`begin ${behavior === 'deferred' ? 'deferred' : 'immediate'}`);
      const token = {};
      this.open = token;
      try {
        const result = await insideTransaction.run(token, () => fn(this.tx));
        this.sqlite.exec('commit');
        return result;
      } catch (error) {
        if (this.sqlite.inTransaction) this.sqlite.exec('rollback');
        throw error;
      }
    } finally {
      this.open = null;
      this.release();
    }
  }

  close(): void {
    this.sqlite.close();
  }

  /** Runs synchronous better-sqlite3 code with no other statement of this process in between. */
  async exclusive<T>(_handle: Db, fn: (sqlite: Database.Database) => T): Promise<T> {
    if (this.holdsLock()) return fn(this.sqlite);
    await this.acquire();
    try {
      return fn(this.sqlite);
    } finally {
      this.release();
    }
  }
}

/**
 * Opens a SQLite file with the settings every Loupe process needs. The web server and the
 * worker share one file: WAL lets readers run beside the one writer, and the busy timeout
 * makes a writer wait for the other's transaction instead of failing with SQLITE_BUSY.
 */
export function openSqlite(filePath: string): Db {
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
  const connection = new SqliteConnection(sqlite);
  return connection.db;
}
