/**
 * The PostgreSQL schema, derived from the SQLite one (db/schema/) table by table, so that there
 * is one description of the data: the same tables, columns, keys, indexes and checks. Values
 * keep SQLite's representation, so raw SQL reads the same on both: timestamps are bigint Unix
 * milliseconds (read as `Date`), JSON is text, a flag is an integer 0/1, pixels are bytea.
 * Only drizzle-kit reads it (drizzle-pg.config.ts generates db/migrations-pg/ from it): at run
 * time lib's queries use the SQLite table objects on either driver, which render the same SQL
 * names and convert values the same way (db/client.ts).
 */
import { is, SQL, sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  doublePrecision,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
  type PgColumnBuilderBase,
  type PgTable,
} from 'drizzle-orm/pg-core';
import { getTableConfig, SQLiteTable, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import * as sqliteSchema from '../schema';
import { NOW_MS } from '../schema/columns';

const timestampMs = customType<{ data: Date; driverData: number | string }>({
  dataType: () => 'bigint',
  toDriver: (value) => value.getTime(),
  fromDriver: (value) => new Date(Number(value)),
});

const bytes = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

const jsonText = customType<{ data: unknown; driverData: string }>({
  dataType: () => 'text',
  toDriver: (value) => JSON.stringify(value),
  fromDriver: (value) => JSON.parse(value),
});

const flag = customType<{ data: boolean; driverData: number }>({
  dataType: () => 'integer',
  toDriver: (value) => (value ? 1 : 0),
  fromDriver: (value) => Number(value) === 1,
});

/** SQLite's `NOW_MS` default, in PostgreSQL: the wall clock in whole milliseconds. */
export const PG_NOW_MS = sql`(floor(extract(epoch from clock_timestamp()) * 1000))::bigint`;

function sameSql(a: SQL, b: SQL): boolean {
  const text = (s: SQL) => s.queryChunks.map((c) => JSON.stringify(c)).join('');
  return text(a) === text(b);
}

/** The few builder calls the derivation makes, common to every PostgreSQL column type used. */
interface Builder {
  primaryKey(): Builder;
  notNull(): Builder;
  default(value: unknown): Builder;
  generatedByDefaultAsIdentity(): Builder;
  unique(name?: string): Builder;
}

function columnOf(column: AnySQLiteColumn): PgColumnBuilderBase {
  const name = column.name;
  let builder: Builder;
  switch (column.columnType) {
    case 'SQLiteInteger':
      builder = bigint(name, { mode: 'number' }) as unknown as Builder;
      break;
    case 'SQLiteTimestamp':
      builder = timestampMs(name) as unknown as Builder;
      break;
    case 'SQLiteBoolean':
      builder = flag(name) as unknown as Builder;
      break;
    case 'SQLiteReal':
      builder = doublePrecision(name) as unknown as Builder;
      break;
    case 'SQLiteText':
      builder = (column.enumValues?.length
        ? text(name, { enum: column.enumValues as [string, ...string[]] })
        : text(name)) as unknown as Builder;
      break;
    case 'SQLiteTextJson':
      builder = jsonText(name) as unknown as Builder;
      break;
    case 'SQLiteBlobBuffer':
      builder = bytes(name) as unknown as Builder;
      break;
    default:
      throw new Error(
        `db/pg/schema.ts: column ${column.name} has type ${column.columnType}, which has no PostgreSQL mapping yet.`,
      );
  }
  const autoIncrement = (column as { autoIncrement?: boolean }).autoIncrement === true;
  if (column.primary) builder = builder.primaryKey();
  if (autoIncrement) builder = builder.generatedByDefaultAsIdentity();
  if (column.notNull && !column.primary) builder = builder.notNull();
  if (column.isUnique) builder = builder.unique(column.uniqueName);
  if (column.hasDefault && !autoIncrement && column.default !== undefined) {
    const value = column.default;
    if (is(value, SQL)) {
      if (!sameSql(value, NOW_MS))
        throw new Error(`db/pg/schema.ts: ${column.name} has a SQL default with no PostgreSQL mapping.`);
      builder = builder.default(PG_NOW_MS);
    } else if (column.columnType === 'SQLiteTextJson') {
      // drizzle-kit writes a custom type's default as it is; JSON text needs its quotes.
      builder = builder.default(sql.raw(`'${JSON.stringify(value).replaceAll("'", "''")}'`));
    } else if (column.columnType === 'SQLiteBoolean') {
      builder = builder.default(value ? 1 : 0);
    } else builder = builder.default(value);
  }
  return builder as unknown as PgColumnBuilderBase;
}

type AnyTable = SQLiteTable;
const derived = new Map<string, PgTable>();

/** The PostgreSQL table of a SQLite table, with the same name, columns and constraints. */
function derive(table: AnyTable): PgTable {
  const config = getTableConfig(table);
  const columns = Object.fromEntries(
    Object.entries(table as unknown as Record<string, AnySQLiteColumn>)
      .filter(([, value]) => config.columns.includes(value))
      .map(([key, column]) => [key, columnOf(column)]),
  );
  /** A column of this table (from the extra-config callback's `self`) or of a table derived before. */
  const pgOf = (column: AnySQLiteColumn, self: Record<string, unknown>) => {
    const tableName = getTableConfig(column.table as AnyTable).name;
    const owner = tableName === config.name ? self : derived.get(tableName);
    if (!owner) throw new Error(`db/pg/schema.ts: table ${tableName} is not derived.`);
    const found = Object.values(owner).find((c) => (c as { name?: string }).name === column.name);
    if (!found) throw new Error(`db/pg/schema.ts: ${tableName} has no column ${column.name}.`);
    return found as never;
  };
  return pgTable(config.name, columns, (self) => [
    ...config.primaryKeys.map((pk) =>
      primaryKey({ name: pk.getName(), columns: pk.columns.map((c) => pgOf(c, self)) as never }),
    ),
    ...config.uniqueConstraints.map((uc) =>
      unique(uc.getName()).on(...(uc.columns.map((c) => pgOf(c, self)) as [never])),
    ),
    ...config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      let built = foreignKey({
        name: fk.getName(),
        columns: ref.columns.map((c) => pgOf(c, self)) as never,
        foreignColumns: ref.foreignColumns.map((c) => pgOf(c, self)) as never,
      });
      if (fk.onDelete) built = built.onDelete(fk.onDelete);
      if (fk.onUpdate) built = built.onUpdate(fk.onUpdate);
      return built;
    }),
    ...config.checks.map((c) => check(c.name, c.value)),
    ...config.indexes.map((ix) => {
      const cols = ix.config.columns.map((c) => (is(c, SQL) ? c : pgOf(c as AnySQLiteColumn, self))) as [never];
      const built = (ix.config.unique ? uniqueIndex(ix.config.name) : index(ix.config.name)).on(...cols);
      return ix.config.where ? built.where(ix.config.where) : built;
    }),
  ]);
}

for (const value of Object.values(sqliteSchema)) {
  if (is(value, SQLiteTable)) derived.set(getTableConfig(value).name, derive(value));
}

const tableOf = (table: AnyTable) => derived.get(getTableConfig(table).name)!;

export const catalogues = tableOf(sqliteSchema.catalogues);
export const imports = tableOf(sqliteSchema.imports);
export const settings = tableOf(sqliteSchema.settings);
export const settingsChanges = tableOf(sqliteSchema.settingsChanges);
export const importRows = tableOf(sqliteSchema.importRows);
export const items = tableOf(sqliteSchema.items);
export const queueCounts = tableOf(sqliteSchema.queueCounts);
export const reviewerQueueCounts = tableOf(sqliteSchema.reviewerQueueCounts);
export const jobs = tableOf(sqliteSchema.jobs);
export const labRuns = tableOf(sqliteSchema.labRuns);
export const labResults = tableOf(sqliteSchema.labResults);
export const modelVersions = tableOf(sqliteSchema.modelVersions);
export const predictions = tableOf(sqliteSchema.predictions);
export const reviews = tableOf(sqliteSchema.reviews);
export const leases = tableOf(sqliteSchema.leases);
export const users = tableOf(sqliteSchema.users);
