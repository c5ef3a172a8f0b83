/**
 * Once per run of the unit suite on PostgreSQL: a migrated template database the tests' databases
 * are cloned from (tests/pg/unit-on-pg.setup.ts), dropped at the end with every database the run made.
 */
import { execFileSync } from 'node:child_process';

function psql(admin: string, sql: string): string {
  return execFileSync('psql', [admin, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
}

export default async function setup(): Promise<() => Promise<void>> {
  const admin = process.env.LOUPE_TEST_DATABASE_URL;
  if (!admin) throw new Error('test:unit-on-pg needs LOUPE_TEST_DATABASE_URL (see docs/deployment.md).');
  const template = `loupe_unit_template_${process.pid}`;
  psql(admin, `create database ${template}`);
  const url = new URL(admin);
  url.pathname = `/${template}`;
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
    env: { ...process.env, LOUPE_DATABASE_URL: url.toString() },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.env.LOUPE_UNIT_PG_TEMPLATE = template;
  return async () => {
    const names = psql(admin, `select datname from pg_database where datname like 'loupe_unit_%'`)
      .split('\n')
      .filter(Boolean);
    for (const name of names) psql(admin, `drop database if exists ${name} with (force)`);
  };
}
