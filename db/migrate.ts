import path from 'node:path';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { dialectOf, withSqlite, type Db } from './client';
import { connectionOf } from './handle';
import type { PostgresConnection } from './postgres';

// import.meta.dirname is absent when a bundler (Next) inlines this module; the repository
// root is then the working directory, as for every npm script.
const DB_FOLDER = import.meta.dirname ?? path.join(process.cwd(), 'db');

/**
 * Applies the committed SQL migrations that this database has not seen yet (db/migrations/ on
 * SQLite, db/migrations-pg/ on PostgreSQL). Idempotent, and safe when two processes start
 * together: drizzle runs the batch in one transaction, and the second waits (SQLite's busy
 * timeout, PostgreSQL's advisory lock), then finds nothing left to do.
 */
export async function migrateDb(db: Db, options: { migrationsFolder?: string } = {}): Promise<void> {
  if (dialectOf(db) === 'postgres') {
    const folder = options.migrationsFolder ?? path.join(DB_FOLDER, 'migrations-pg');
    await (connectionOf(db) as PostgresConnection).migrate(folder);
    return;
  }
  const migrationsFolder = options.migrationsFolder ?? path.join(DB_FOLDER, 'migrations');
  await withSqlite(db, (sqlite) => migrate(drizzle(sqlite), { migrationsFolder }));
}
