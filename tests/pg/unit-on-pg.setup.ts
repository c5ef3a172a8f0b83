/**
 * The unit suite on PostgreSQL (npm run test:unit-on-pg): every database a test opens as a file
 * (openDb(path), getDb() with LOUPE_DB) is a database of its own on the server named by
 * LOUPE_TEST_DATABASE_URL instead, the same one each time the same path is opened, so a test
 * that opens a file twice, or hands it to a child process (tests/test-database.ts databaseEnv),
 * meets the same data. Databases are cloned from a migrated template, so a test starts from a
 * migrated database in a few milliseconds, as with SQLite.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { vi } from 'vitest';

const admin = process.env.LOUPE_TEST_DATABASE_URL;
if (!admin) throw new Error('test:unit-on-pg needs LOUPE_TEST_DATABASE_URL (see docs/deployment.md).');
process.env.LOUPE_UNIT_ON_PG = '1';
// getDb() follows LOUPE_DB below, as on SQLite; a URL left in the environment would take over.
delete process.env.LOUPE_DATABASE_URL;
delete process.env.DATABASE_URL;

function psql(sql: string): void {
  execFileSync('psql', [admin!, '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function urlOf(name: string): string {
  const url = new URL(admin!);
  url.pathname = `/${name}`;
  return url.toString();
}

const byFile = new Map<string, string>();
let made = 0;

function pgUrlFor(file: string): string {
  const key = path.resolve(file);
  let url = byFile.get(key);
  if (!url) {
    const name = `loupe_unit_${process.pid}_${++made}_${Math.random().toString(36).slice(2, 6)}`;
    // A migrated empty database when the template exists (made by the global setup), else empty.
    const template = process.env.LOUPE_UNIT_PG_TEMPLATE;
    psql(template ? `create database ${name} template ${template}` : `create database ${name}`);
    url = urlOf(name);
    byFile.set(key, url);
  }
  return url;
}
globalThis.__loupeTestPgUrlFor = pgUrlFor;

vi.mock('@/db/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/db/client')>();
  const { getEnv } = await import('@/lib/env');
  const openDb = (target: string) => real.openDb(real.isPostgresUrl(target) ? target : pgUrlFor(target));
  const cache = globalThis as typeof globalThis & { __loupeDb?: ReturnType<typeof real.openDb> };
  return {
    ...real,
    openDb,
    // LOUPE_DB as the test set it: getEnv() may have been read (and kept) before.
    getDb: () => (cache.__loupeDb ??= openDb(process.env.LOUPE_DB ?? getEnv().LOUPE_DB)),
  };
});
