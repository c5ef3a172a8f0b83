import { and, eq, gte, ne, sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { reviews, type DecisionAction } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';

export interface ReviewerStats {
  /** Decisions since `since` (default: the server's local midnight), undone ones not counted. */
  decisionsToday: number;
  byAction: Record<DecisionAction, number>;
  /** Median time per decision in seconds; null before the first decision. */
  medianSeconds: number | null;
  since: Date;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function localMidnight(now: number): Date {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day;
}

/**
 * The reviewer's own figures for the review page. `since` lets the page pass the reviewer's
 * local midnight when it knows their time zone.
 */
export async function reviewerStats(
  db: Db,
  input: { actor: Actor | null; now?: number; since?: number },
): Promise<ReviewerStats> {
  const actor = requirePermission(input.actor, 'items.review');
  const since = input.since === undefined ? localMidnight(input.now ?? Date.now()) : new Date(input.since);
  const rows = await db
    .select({ action: reviews.action, durationMs: reviews.durationMs })
    .from(reviews)
    .where(
      and(
        eq(reviews.reviewerId, actor.userId),
        gte(reviews.createdAt, since),
        ne(reviews.action, 'undo'),
        sql`not exists (select 1 from ${reviews} u where u.reverts_review_id = ${reviews.id})`,
      ),
    );
  const byAction: Record<DecisionAction, number> = { confirm: 0, correct: 0, skip: 0, unsure: 0 };
  for (const row of rows) if (row.action !== 'undo') byAction[row.action]++;
  const medianMs = median(rows.map((row) => row.durationMs));
  return {
    decisionsToday: rows.length,
    byAction,
    medianSeconds: medianMs === null ? null : Math.round(medianMs / 100) / 10,
    since,
  };
}
