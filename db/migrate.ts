import path from 'node:path';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { withSqlite, type Db } from './client';

// import.meta.dirname is absent when a bundler (Next) inlines this module; the repository
// root is then the working directory, as for every npm script.
const DEFAULT_MIGRATIONS_FOLDER = import.meta.dirname
  ? path.join(import.meta.dirname, 'migrations')
  : path.join(process.cwd(), 'db', 'migrations');

/**
 * Applies the committed SQL migrations that this database has not seen yet. Idempotent, and
 * safe when two processes start together: drizzle runs the batch in one transaction, and the
 * busy timeout makes the second wait, then find nothing left to do.
 */
export async function migrateDb(db: Db, options: { migrationsFolder?: string } = {}): Promise<void> {
  await withSqlite(db, (sqlite) =>
    migrate(drizzle(sqlite), { migrationsFolder: options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER }),
  );
}
