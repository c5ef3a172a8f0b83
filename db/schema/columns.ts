import { sql, type SQL } from 'drizzle-orm';
import { check, integer, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';

/**
 * Every timestamp in Loupe is an integer of Unix milliseconds, read as a `Date`.
 * The default lives in SQL (not only in drizzle) so raw SQL inserts and scripts get it too.
 */
export function timestampMs(name: string) {
  return integer(name, { mode: 'timestamp_ms' });
}

export const NOW_MS: SQL = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

export function createdAtColumn() {
  return timestampMs('created_at').notNull().default(NOW_MS);
}

/**
 * drizzle's `text({ enum })` only narrows the TypeScript type; this CHECK makes SQLite refuse
 * a value outside the list too, so a typo in a raw update cannot create a fifth status.
 */
export function checkIn(name: string, column: AnySQLiteColumn, values: readonly string[]) {
  const list = values.map((value) => `'${value.replaceAll("'", "''")}'`).join(', ');
  return check(name, sql`${column} in (${sql.raw(list)})`);
}
