/**
 * The few SQL expressions that SQLite and PostgreSQL spell differently, rendered for the
 * database this process opened. Each is a drizzle SQLWrapper built when the query is rendered,
 * not when the module loads, so module-level fragments work on either database.
 */
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';

export type Dialect = 'sqlite' | 'postgres';

const globalForDialect = globalThis as typeof globalThis & { __loupeDialect?: Dialect };

/**
 * Called by openDb. A process works on one kind of database: a query's SQL is chosen by it, so
 * opening the other kind as well is refused rather than rendered wrong.
 */
export function setProcessDialect(dialect: Dialect): void {
  const current = globalForDialect.__loupeDialect;
  if (current !== undefined && current !== dialect)
    throw new Error(`This process already works on ${current}; it cannot also open a ${dialect} database.`);
  globalForDialect.__loupeDialect = dialect;
}

function dialect(): Dialect {
  return globalForDialect.__loupeDialect ?? 'sqlite';
}

function byDialect(build: (dialect: Dialect) => SQL): SQLWrapper {
  return { getSQL: () => build(dialect()) };
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`A JSON key in SQL is a plain name; "${key}" is not.`);
  return key;
}

/**
 * A number (or a true/false, as 1/0) stored under `key` in a JSON text column; null when absent
 * or of another kind. SQLite's json_extract; PostgreSQL reads the text as jsonb.
 */
export function jsonNumber(column: SQLWrapper, key: string): SQLWrapper {
  const name = checkedKey(key);
  return byDialect((d) =>
    d === 'sqlite'
      ? sql`json_extract(${column}, ${sql.raw(`'$.${name}'`)})`
      : sql`(case jsonb_typeof(${column}::jsonb -> ${sql.raw(`'${name}'`)})
          when 'number' then (${column}::jsonb ->> ${sql.raw(`'${name}'`)})::numeric
          when 'boolean' then ((${column}::jsonb ->> ${sql.raw(`'${name}'`)})::boolean)::int end)`,
  );
}

/** A string stored under `key` in a JSON text column, else null. */
export function jsonText(column: SQLWrapper, key: string): SQLWrapper {
  const name = checkedKey(key);
  return byDialect((d) =>
    d === 'sqlite'
      ? sql`json_extract(${column}, ${sql.raw(`'$.${name}'`)})`
      : sql`(${column}::jsonb ->> ${sql.raw(`'${name}'`)})`,
  );
}

/**
 * An ORDER BY term with SQLite's place for nulls on both databases: first when ascending, last
 * when descending (PostgreSQL's default is the other way round). On SQLite the plain term, so
 * its index plans stay as they are. Built when called (inside a query's construction), as an
 * ORDER BY term must not be parenthesized.
 */
export function orderedLikeSqlite(column: SQLWrapper, direction: 'asc' | 'desc'): SQL {
  const d = dialect();
  return d === 'sqlite'
    ? direction === 'asc'
      ? sql`${column} asc`
      : sql`${column} desc`
    : direction === 'asc'
      ? sql`${column} asc nulls first`
      : sql`${column} desc nulls last`;
}

/** The larger of two values (SQLite's two-argument max, PostgreSQL's greatest). */
export function greater(a: SQLWrapper | number, b: SQLWrapper | number): SQLWrapper {
  return byDialect((d) => (d === 'sqlite' ? sql`max(${a}, ${b})` : sql`greatest(${a}, ${b})`));
}

/** A write refused by a UNIQUE index: SQLite's SQLITE_CONSTRAINT_UNIQUE, PostgreSQL's 23505. */
export function isUniqueViolation(error: unknown): boolean {
  // drizzle wraps the driver's error; the code is on it or on its cause.
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') return true;
  }
  return false;
}
