/**
 * `npm run db:copy`: moves a SQLite catalogue into PostgreSQL (issue 20, docs/deployment.md).
 * Every table is copied row for row in one PostgreSQL transaction, from one read snapshot of the
 * SQLite file, and verified by row counts before it commits: a failure at any point leaves the
 * PostgreSQL database as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { closeDb, openDb } from './client';
import { connectionOf } from './handle';
import { migrateDb } from './migrate';
import type { PostgresConnection } from './postgres';
import { AppError } from '@/lib/errors';

const DB_FOLDER = import.meta.dirname ?? path.join(process.cwd(), 'db');

/** Bound parameters per INSERT: PostgreSQL allows 65,535; a row's values never split. */
const MAX_PARAMS = 30_000;
const MAX_ROWS_PER_INSERT = 1000;

export interface CopyReport {
  /** Table name and rows copied, in the order copied. */
  tables: { name: string; rows: number }[];
  seconds: number;
}

interface Table {
  name: string;
  columns: string[];
  orderBy: string[];
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Migrations the SQLite file has applied, against those this code ships. */
function checkSourceCurrent(sqlite: Database.Database, file: string): void {
  const journal = JSON.parse(fs.readFileSync(path.join(DB_FOLDER, 'migrations', 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  const hasTable = sqlite
    .prepare(`select 1 from sqlite_master where type = 'table' and name = '__drizzle_migrations'`)
    .get();
  const applied = hasTable
    ? (sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number }).n
    : 0;
  if (applied < journal.entries.length)
    throw new AppError(
      'bad_input',
      `${file} is at migration ${applied} of ${journal.entries.length}: start Loupe on it once (npm start) so that it is up to date, then copy it.`,
    );
}

/** The target's tables in an order where every foreign key points at a table copied before. */
async function tablesInOrder(client: pg.PoolClient): Promise<Table[]> {
  const names = (
    await client.query<{ name: string }>(
      `select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    )
  ).rows.map((r) => r.name);
  const columns = await client.query<{ table: string; column: string }>(
    `select table_name as table, column_name as column from information_schema.columns
     where table_schema = 'public' order by table_name, ordinal_position`,
  );
  const keys = await client.query<{ table: string; column: string }>(
    `select c.relname as table, a.attname as column from pg_index i
       join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
       join lateral unnest(i.indkey) with ordinality as k(attnum, position) on true
       join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
     where i.indisprimary and n.nspname = 'public' order by c.relname, k.position`,
  );
  const references = await client.query<{ table: string; target: string }>(
    `select c.relname as table, t.relname as target from pg_constraint f
       join pg_class c on c.oid = f.conrelid join pg_class t on t.oid = f.confrelid
       join pg_namespace n on n.oid = c.relnamespace
     where f.contype = 'f' and n.nspname = 'public'`,
  );
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (ordered.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const r of references.rows) if (r.table === name && r.target !== name) visit(r.target);
    ordered.push(name);
  };
  names.forEach(visit);
  return ordered.map((name) => {
    const cols = columns.rows.filter((c) => c.table === name).map((c) => c.column);
    const pk = keys.rows.filter((k) => k.table === name).map((k) => k.column);
    return { name, columns: cols, orderBy: pk.length > 0 ? pk : cols };
  });
}

/**
 * Copies the SQLite database at `from` into the PostgreSQL database at `to`, which is migrated
 * first and must hold no rows. Loupe may keep running on the SQLite file meanwhile: the copy
 * reads one snapshot of it, and what is written after is not copied.
 */
export async function copySqliteToPostgres(input: {
  from: string;
  to: string;
  log?: (line: string) => void;
}): Promise<CopyReport> {
  const log = input.log ?? (() => {});
  const started = performance.now();
  if (!fs.existsSync(input.from)) throw new AppError('bad_input', `There is no SQLite file at ${input.from}.`);
  const sqlite = new Database(input.from, { readonly: true, fileMustExist: true });
  const target = openDb(input.to);
  try {
    checkSourceCurrent(sqlite, input.from);
    await migrateDb(target);
    const pool = (connectionOf(target) as PostgresConnection).pool;
    const client = await pool.connect();
    try {
      const tables = await tablesInOrder(client);
      const sourceTables = new Set(
        (sqlite.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map(
          (r) => r.name,
        ),
      );
      for (const table of tables) {
        if (!sourceTables.has(table.name))
          throw new AppError('bad_input', `${input.from} has no table ${table.name}; it is not a Loupe database.`);
        const sourceColumns = new Set(
          (sqlite.prepare(`select name from pragma_table_info(?)`).all(table.name) as { name: string }[]).map(
            (c) => c.name,
          ),
        );
        const missing = table.columns.filter((c) => !sourceColumns.has(c));
        if (missing.length > 0)
          throw new AppError(
            'bad_input',
            `${input.from}: table ${table.name} lacks ${missing.join(', ')}; it is not a Loupe database.`,
          );
      }

      await client.query('begin isolation level serializable');
      // One snapshot of the source for every table, however long the copy takes.
      sqlite.exec('begin');
      try {
        for (const table of tables) {
          const { rows } = await client.query<{ any: boolean }>(
            `select exists (select 1 from ${quote(table.name)}) as any`,
          );
          if (rows[0]!.any)
            throw new AppError(
              'conflict',
              `The PostgreSQL database already has rows in ${table.name}; db:copy copies into an empty database only. Create a new one (createdb) and copy into it.`,
            );
        }
        // The rows already carry what the triggers keep (the queue order, the counts): copied
        // as they are, with the triggers off for this transaction only.
        for (const table of tables) await client.query(`alter table ${quote(table.name)} disable trigger user`);
        const report: CopyReport['tables'] = [];
        for (const table of tables)
          report.push({ name: table.name, rows: await copyTable(sqlite, client, table, log) });
        for (const table of tables) await client.query(`alter table ${quote(table.name)} enable trigger user`);
        await resetIdentities(client, tables);
        for (const { name, rows } of report) {
          const copied = Number(
            (await client.query<{ n: string }>(`select count(*) as n from ${quote(name)}`)).rows[0]!.n,
          );
          const source = (sqlite.prepare(`select count(*) as n from ${quote(name)}`).get() as { n: number }).n;
          if (copied !== source || copied !== rows)
            throw new Error(
              `${name}: ${source} rows in SQLite, ${copied} in PostgreSQL after the copy; nothing was kept.`,
            );
        }
        await client.query('commit');
        return { tables: report, seconds: (performance.now() - started) / 1000 };
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        sqlite.exec('commit');
      }
    } finally {
      client.release();
    }
  } finally {
    sqlite.close();
    await closeDb(target);
  }
}

async function copyTable(
  sqlite: Database.Database,
  client: pg.PoolClient,
  table: Table,
  log: (line: string) => void,
): Promise<number> {
  const total = (sqlite.prepare(`select count(*) as n from ${quote(table.name)}`).get() as { n: number }).n;
  const perInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / table.columns.length)));
  const columnList = table.columns.map(quote).join(', ');
  const rows = sqlite
    .prepare(`select ${columnList} from ${quote(table.name)} order by ${table.orderBy.map(quote).join(', ')}`)
    .raw()
    .iterate() as IterableIterator<unknown[]>;
  let copied = 0;
  let batch: unknown[][] = [];
  let lastLogged = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const width = table.columns.length;
    const placeholders = batch
      .map((_, r) => `(${table.columns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`)
      .join(', ');
    await client.query(`insert into ${quote(table.name)} (${columnList}) values ${placeholders}`, batch.flat());
    copied += batch.length;
    batch = [];
    if (copied - lastLogged >= 50_000) {
      lastLogged = copied;
      log(`${table.name}: ${copied.toLocaleString('en')} of ${total.toLocaleString('en')} rows`);
    }
  };
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= perInsert) await flush();
  }
  await flush();
  log(`${table.name}: ${copied.toLocaleString('en')} rows`);
  return copied;
}

/** Identity columns continue after the copied ids, so the next row PostgreSQL numbers does not collide. */
async function resetIdentities(client: pg.PoolClient, tables: Table[]): Promise<void> {
  const identities = await client.query<{ table: string; column: string }>(
    `select table_name as table, column_name as column from information_schema.columns
     where table_schema = 'public' and is_identity = 'YES'`,
  );
  for (const { table, column } of identities.rows) {
    if (!tables.some((t) => t.name === table)) continue;
    await client.query(
      `select setval(pg_get_serial_sequence($1, $2), coalesce((select max(${quote(column)}) from ${quote(table)}), 0) + 1, false)`,
      [quote(table), column],
    );
  }
}
