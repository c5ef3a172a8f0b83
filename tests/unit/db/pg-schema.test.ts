/**
 * The PostgreSQL schema is derived from the SQLite one (db/pg/schema.ts); these check that every
 * table and column made it across with its kind of value, and that the committed PostgreSQL
 * migrations are what drizzle-kit generates from it now (a schema change needs both dialects'
 * migrations).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { is } from 'drizzle-orm';
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import * as pgSchema from '@/db/pg/schema';
import * as sqliteSchema from '@/db/schema';

const sqliteTables = Object.entries(sqliteSchema).filter(([, value]) => is(value, SQLiteTable)) as [
  string,
  SQLiteTable,
][];
const PG_TYPE: Record<string, string> = {
  SQLiteInteger: 'bigint',
  SQLiteTimestamp: 'bigint',
  SQLiteBoolean: 'integer',
  SQLiteReal: 'double precision',
  SQLiteText: 'text',
  SQLiteTextJson: 'text',
  SQLiteBlobBuffer: 'bytea',
};

describe('db/pg/schema.ts', () => {
  it('has every SQLite table under the same export, with the same columns, keys and indexes', () => {
    for (const [name, table] of sqliteTables) {
      const pg = (pgSchema as Record<string, unknown>)[name];
      expect(is(pg, PgTable), `db/pg/schema.ts exports ${name}`).toBe(true);
      const lite = getTableConfig(table);
      const config = pgTableConfig(pg as PgTable);
      expect(config.name).toBe(lite.name);
      const columns = config.columns.map((c) => [c.name, c.getSQLType(), c.notNull, c.primary, c.isUnique]);
      const expected = lite.columns.map((c) => [c.name, PG_TYPE[c.columnType], c.notNull, c.primary, c.isUnique]);
      expect(columns).toEqual(expected);
      expect(config.indexes.map((i) => i.config.name).sort()).toEqual(lite.indexes.map((i) => i.config.name).sort());
      expect(config.foreignKeys.map((f) => f.getName()).sort()).toEqual(
        lite.foreignKeys.map((f) => f.getName()).sort(),
      );
      expect(config.checks.map((c) => c.name).sort()).toEqual(lite.checks.map((c) => c.name).sort());
      expect(config.primaryKeys.length).toBe(lite.primaryKeys.length);
    }
  });

  it('converts values the way the SQLite columns do: Date as milliseconds, JSON as text, flags as 0/1', () => {
    const column = (table: unknown, name: string) =>
      pgTableConfig(table as PgTable).columns.find((c) => c.name === name)!;
    const at = new Date(1_700_000_000_123);
    expect(column(pgSchema.items, 'created_at').mapToDriverValue(at)).toBe(at.getTime());
    expect(column(pgSchema.items, 'created_at').mapFromDriverValue('1700000000123')).toEqual(at);
    expect(column(pgSchema.catalogues, 'class_names').mapToDriverValue(['a', 'b'])).toBe('["a","b"]');
    expect(column(pgSchema.users, 'disabled').mapToDriverValue(true)).toBe(1);
  });

  it('the committed migrations are what drizzle-kit generates from it now', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-pg-gen-'));
    try {
      fs.cpSync('db/migrations-pg', out, { recursive: true });
      const config = path.join(out, 'drizzle.config.json');
      fs.writeFileSync(
        config,
        // drizzle-kit reads `out` relative to the working directory.
        JSON.stringify({ dialect: 'postgresql', schema: './db/pg/schema.ts', out: path.relative(process.cwd(), out) }),
      );
      const said = execFileSync('npx', ['drizzle-kit', 'generate', '--config', config], { encoding: 'utf8' });
      expect(said).toMatch(/No schema changes/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
