import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { CONNECTION, type Connection, type Db, type TransactionBehavior, type Tx } from './handle';

// Counts and bigint columns (int8) and sums and averages (numeric) as numbers, as SQLite gives
// them: node-postgres returns both as strings by default. Loupe's values fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);

/** serialization_failure and deadlock_detected: the transaction lost a race and can run again. */
const RETRYABLE_CODES = new Set(['40001', '40P01']);
/**
 * Two workers claiming jobs at once lost 10 races in a row once (CI, 2026-12-07: the claim reads
 * then writes the jobs table under SERIALIZABLE): more attempts, and a wait that doubles, so
 * racers that keep meeting drift apart.
 */
const MAX_ATTEMPTS = 25;
const MAX_BACKOFF_MS = 250;

/**
 * SQLite serializes every writing transaction ('immediate'): the same guarantee here is
 * SERIALIZABLE. A 'locking' transaction guards its writes itself (row locks, compare-and-set),
 * so READ COMMITTED: each statement sees the latest commits, and nothing is refused for a race.
 */
const ISOLATION = {
  deferred: 'repeatable read',
  immediate: 'serializable',
  locking: 'read committed',
} as const satisfies Record<TransactionBehavior, string>;

/** Marks a transaction's handle, so that a nested withTransaction becomes a savepoint. */
const IN_TRANSACTION = Symbol.for('loupe.db.pg.inTransaction');

type PgDb = NodePgDatabase<Record<string, never>>;

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * A pool of connections to one PostgreSQL database. lib's queries are built with the SQLite
 * table objects (db/schema): drizzle's PostgreSQL driver renders them by the same names and
 * converts values with the same column functions, and the PostgreSQL tables keep SQLite's value
 * representation (db/pg/schema.ts), so no query needs a second copy.
 *
 * A transaction gets its own pooled connection. SQLite serializes every writing transaction
 * ('immediate'); the same guarantee here is SERIALIZABLE isolation, with the transaction run
 * again when PostgreSQL reports it lost a race (its body only touches the database, so running it
 * again is safe). Read transactions ('deferred') read one snapshot (REPEATABLE READ).
 */
export class PostgresConnection implements Connection {
  readonly dialect = 'postgres';
  readonly pool: pg.Pool;
  readonly db: Db;

  constructor(url: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize });
    // An idle connection dropped by the server: the pool replaces it; nothing to crash for.
    this.pool.on('error', (error) => console.error(`[db] PostgreSQL connection lost: ${error.message}`));
    this.db = this.mark(drizzle(this.pool), false);
  }

  private mark(handle: PgDb, inTransaction: boolean): Db {
    Object.defineProperty(handle, CONNECTION, { value: this });
    Object.defineProperty(handle, IN_TRANSACTION, { value: inTransaction });
    return handle as unknown as Db;
  }

  async transaction<T>(handle: Db, fn: (tx: Tx) => Promise<T>, behavior: TransactionBehavior): Promise<T> {
    if ((handle as unknown as Record<symbol, boolean>)[IN_TRANSACTION])
      return (handle as unknown as PgDb).transaction((nested) => fn(this.mark(nested as unknown as PgDb, true)));
    const isolationLevel = ISOLATION[behavior];
    for (let attempt = 1; ; attempt++) {
      try {
        return await (this.db as unknown as PgDb).transaction((tx) => fn(this.mark(tx as unknown as PgDb, true)), {
          isolationLevel,
        });
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !RETRYABLE_CODES.has(codeOf(error) ?? '')) throw error;
        // Back off, twice as long each time up to a cap, with jitter so the racers do not meet again.
        const ceiling = Math.min(MAX_BACKOFF_MS, 2 * 2 ** attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
      }
    }
  }

  exclusive<T>(): Promise<T> {
    return Promise.reject(
      new Error(
        'This code path runs hand-tuned SQLite statements and has no PostgreSQL version yet (issue 20, docs/deployment.md).',
      ),
    );
  }

  /** Applies db/migrations-pg/, one process at a time (an advisory lock). */
  async migrate(migrationsFolder: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('select pg_advisory_lock(7281911)');
      try {
        await migrate(drizzle(client), { migrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock(7281911)');
      }
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

export function openPostgres(url: string, poolSize: number): Db {
  return new PostgresConnection(url, poolSize).db;
}
