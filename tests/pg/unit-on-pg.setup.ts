/**
 * A progress meter for issue 20, not a suite: runs the SQLite unit tests with every database
 * they open created on PostgreSQL instead (npm run test:unit-on-pg). Tests that reach a
 * SQLite-only path or read the file through better-sqlite3 fail; the count that passes is how
 * far lib has come (docs/deployment.md).
 */
import { execFileSync } from 'node:child_process';
import { vi } from 'vitest';

function createDatabaseSync(): string {
  const admin = process.env.LOUPE_TEST_DATABASE_URL;
  if (!admin) throw new Error('test:unit-on-pg needs LOUPE_TEST_DATABASE_URL (see docs/deployment.md).');
  const name = `loupe_unit_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  execFileSync('psql', [admin, '-q', '-c', `create database ${name}`]);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

process.env.LOUPE_DATABASE_URL = createDatabaseSync();

vi.mock('@/db/client', async (importOriginal) => {
  const real = await importOriginal<typeof import('@/db/client')>();
  return {
    ...real,
    openDb: (target: string) => real.openDb(real.isPostgresUrl(target) ? target : createDatabaseSync()),
  };
});
