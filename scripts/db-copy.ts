import { parseArgs } from 'node:util';
import { copySqliteToPostgres } from '@/db/copy';
import { isPostgresUrl } from '@/db/client';
import { badInput } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import { runCli } from '@/scripts/cli';

/**
 * `npm run db:copy -- [--from FILE] [--to postgres://...]`: copies a SQLite catalogue database
 * (default LOUPE_DB) into an empty PostgreSQL database (default LOUPE_DATABASE_URL or
 * DATABASE_URL), every table, checked by row counts (docs/deployment.md).
 */
await runCli(async () => {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } }, strict: true });
  const env = getEnv();
  const from = values.from ?? env.LOUPE_DB;
  const to = values.to ?? env.LOUPE_DATABASE_URL;
  if (!to) throw badInput('--to: name the PostgreSQL database to copy into (postgres://user@host:port/database).');
  if (!isPostgresUrl(to)) throw badInput(`--to: a PostgreSQL URL starts with postgres://; got "${to}".`);
  if (isPostgresUrl(from)) throw badInput('--from: the SQLite file to copy, not a PostgreSQL URL.');
  console.error(`[db:copy] ${from} -> ${new URL(to).host}${new URL(to).pathname}`);
  const report = await copySqliteToPostgres({ from, to, log: (line) => console.error(`[db:copy] ${line}`) });
  const width = Math.max(...report.tables.map((t) => t.name.length));
  for (const { name, rows } of report.tables) console.log(`${name.padEnd(width)}  ${rows.toLocaleString('en')}`);
  const total = report.tables.reduce((sum, t) => sum + t.rows, 0);
  console.log(
    `copied ${total.toLocaleString('en')} rows in ${report.tables.length} tables in ${report.seconds.toFixed(1)} s; every table's row count matches`,
  );
});
