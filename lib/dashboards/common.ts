import { sql, type SQL } from 'drizzle-orm';
import { dialectOf, pgExecute, withSqlite, type Db } from '@/db/client';

/** Which data a figure is computed from; DESIGN.md "Honest measurement". */
export type FigureSource = 'holdout' | 'audit sample' | 'gold' | 'reviewed' | 'queue';

export const SOURCE_PHRASES: Record<FigureSource, string> = {
  holdout: 'from the holdout',
  'audit sample': 'from the audit sample',
  gold: 'from the gold items',
  reviewed: 'from reviewed items (biased toward hard items)',
  queue: 'from the queue and the review log',
};

export type Cell = string | number | null;

/** One figure's numbers: what the chart draws and the CSV download writes, from one call. */
export interface Figure<Row extends Record<string, Cell> = Record<string, Cell>> {
  source: FigureSource;
  rows: Row[];
  /** Column order for the CSV; every row has these keys. */
  columns: (keyof Row & string)[];
  /** A sentence shown instead of the chart when there is nothing to draw, or a caveat. */
  note: string | null;
}

export interface FigureContext {
  db: Db;
  catalogueId: number;
  classNames: string[];
  now: number;
}

export const HOUR_MS = 3_600_000;

/** `text` with its `?` placeholders bound to `params`, as one drizzle query (PostgreSQL numbers them itself). */
function bound(text: string, params: unknown[]): SQL {
  const parts = text.split('?');
  if (parts.length !== params.length + 1)
    throw new Error(`A dashboard query has ${parts.length - 1} placeholders and ${params.length} values.`);
  return sql.join(parts.flatMap((part, i) => (i === 0 ? [sql.raw(part)] : [sql`${params[i - 1]}`, sql.raw(part)])));
}

/**
 * Reads with plain SQL: the dashboards are aggregate queries drizzle's builder only obscures.
 * The text is portable SQL (no sums of comparisons, no SQLite date functions: see utcDay),
 * with `?` placeholders; result columns named in snake_case or lower case, which both databases
 * keep as written.
 */
export async function queryAll<T>(db: Db, text: string, ...params: unknown[]): Promise<T[]> {
  if (dialectOf(db) === 'postgres') return (await pgExecute<T>(db, bound(text, params))).rows;
  return withSqlite(db, (sqlite) => sqlite.prepare(text).all(...params) as T[]);
}

export async function queryGet<T>(db: Db, text: string, ...params: unknown[]): Promise<T | undefined> {
  return (await queryAll<T>(db, text, ...params))[0];
}

/** How many rows satisfy `condition`, 0 when none: a sum of a comparison is SQLite's shorthand only. */
export function countWhere(condition: string): string {
  return `coalesce(sum(case when ${condition} then 1 else 0 end), 0)`;
}

/** The UTC day (YYYY-MM-DD) of a time in ms since the epoch, as SQL text for this handle's database. */
export function utcDay(db: Db, msColumn: string): string {
  return dialectOf(db) === 'postgres'
    ? `to_char(to_timestamp(${msColumn} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD')`
    : `strftime('%Y-%m-%d', ${msColumn} / 1000, 'unixepoch')`;
}

/**
 * Human decisions that stand: confirm/correct rows of this catalogue not reverted by an
 * `undo` (the review log is append-only, see db/schema/reviews.ts). A CTE named `decided`,
 * with the item's eval role and audit flag alongside; bind the catalogue id once.
 */
export async function decidedCte(db: Db): Promise<string> {
  const audit = await auditMarkerSql(db, 'i');
  return `with decided as (
    select r.id, r.item_id, r.reviewer_id, r.model_label, r.chosen_label, r.action, r.duration_ms, r.created_at,
           i.eval_role, i.import_label, ${audit ?? '0'} as is_audit
    from reviews r join items i on i.id = r.item_id
    where i.catalogue_id = ? and r.action in ('confirm', 'correct')
      and not exists (select 1 from reviews u where u.reverts_review_id = r.id)
  )`;
}

/**
 * The audit sample marker is `items.routing_reason = 'audit'`, added by the routing work of
 * issue 5 (lib/routing-rules.ts). Until its migration is applied there is no way to tell an
 * audit item from any other, and the audit figures say so instead of guessing.
 */
export async function hasAuditMarker(db: Db): Promise<boolean> {
  // PostgreSQL's schema starts where SQLite's migrations ended: the column is always there.
  if (dialectOf(db) === 'postgres') return true;
  return (await queryAll<{ name: string }>(db, `select name from pragma_table_info('items')`)).some(
    (c) => c.name === 'routing_reason',
  );
}

/** An SQL expression (1 or 0) telling whether item alias `alias` is in the audit sample; null without the marker. */
export async function auditMarkerSql(db: Db, alias: string): Promise<string | null> {
  return (await hasAuditMarker(db)) ? `(coalesce(${alias}.routing_reason, '') = 'audit')` : null;
}

export const NO_AUDIT_MARKER =
  'No audit sample yet: items are not marked as audits in this database, so the accuracy of auto-accepted items cannot be measured without bias.';

export function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/** Rounds for display and CSV alike, so both show the same digits. */
export function round(value: number | null, digits = 4): number | null {
  if (value === null) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
