/**
 * The database the unit suite runs on: SQLite files by default; PostgreSQL when it runs under
 * `npm run test:unit-on-pg` (tests/pg/unit-on-pg.setup.ts), where every file path a test opens
 * maps to a database of its own on the server. Tests open databases with openDb(file) and
 * getDb() as the app does; this module is for the few that need to know more.
 */
import { describe, it } from 'vitest';

declare global {
  var __loupeTestPgUrlFor: ((file: string) => string) | undefined;
}

export const onPostgres = process.env.LOUPE_UNIT_ON_PG === '1';

/**
 * For tests of SQLite itself (WAL mode, pragmas, the file on disk, better-sqlite3 statements):
 * skipped when the suite runs on PostgreSQL, which has none of it.
 */
export const sqliteOnly = { describe: describe.skipIf(onPostgres), it: it.skipIf(onPostgres) };

/** What a child process is given to open the database a test made at `file`: the file, or its server database's URL. */
export function databaseTarget(file: string): string {
  if (!onPostgres || /^postgres(ql)?:\/\//.test(file)) return file;
  return globalThis.__loupeTestPgUrlFor!(file);
}

/**
 * The environment a child process (a script, a worker) needs to open the database a test made
 * at `file`: the file itself, or on PostgreSQL the server database that stands for it.
 */
export function databaseEnv(file: string): Record<string, string> {
  if (!onPostgres) return { LOUPE_DB: file, LOUPE_DATABASE_URL: '', DATABASE_URL: '' };
  return { LOUPE_DB: file, LOUPE_DATABASE_URL: globalThis.__loupeTestPgUrlFor!(file) };
}
