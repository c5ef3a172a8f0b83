import path from 'node:path';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { Db } from './client';

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
export function migrateDb(db: Db, options: { migrationsFolder?: string } = {}): void {
  migrate(db, { migrationsFolder: options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER });
}
