import { and, countDistinct, count, eq, gt, inArray, isNull, lte, ne, or } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, firstRow } from '@/db/client';
import { items, leases, queueCounts, reviews } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { parseInput } from '@/lib/validate';
import { reviewerStats } from './reviewer-stats';

/** The focus view's progress line: what is left for this reviewer, and what they did this session. */

export interface ReviewProgress {
  /**
   * Items of the catalogue a claim could still hand this reviewer: waiting for review, free or
   * held by them, and not skipped or marked unsure by them. Gold items mixed in come on top.
   */
  left: number;
  /** Their decisions (any catalogue) since `sessionSince`, undone ones not counted. */
  decidedInSession: number;
  sessionSince: Date;
}

const ProgressInput = z.object({
  catalogueId: z.number().int().positive(),
  since: z.number().int().nonnegative(),
  now: z.number().int().nonnegative().optional(),
});

/**
 * Counts from the other end of the queue: the catalogue's waiting total (queue_counts, kept by
 * triggers) less the waiting items held by someone else and those the reviewer passed over. Both
 * walk small sets (live leases; the reviewer's own skips through reviews_reviewer_item_idx), never
 * the queue, so the figure stays cheap at any queue size; it is not read on the claim path.
 */
export async function countLeftForReviewer(
  db: Db,
  input: { actor: Actor; catalogueId: number; now: number },
): Promise<number> {
  const { actor, catalogueId } = input;
  const now = new Date(input.now);
  const waiting =
    (
      await db
        .select({ waiting: queueCounts.waiting })
        .from(queueCounts)
        .where(eq(queueCounts.catalogueId, catalogueId))
        .limit(1)
        .then(firstRow)
    )?.waiting ?? 0;
  const heldByOthers =
    (
      await db
        .select({ n: count() })
        .from(leases)
        .innerJoin(items, eq(items.id, leases.itemId))
        .where(
          and(
            ne(leases.reviewerId, actor.userId),
            gt(leases.expiresAt, now),
            eq(items.catalogueId, catalogueId),
            eq(items.status, 'needs_review'),
          ),
        )
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  // Passed over and not also held by someone else (counted above already).
  const passedOver =
    (
      await db
        .select({ n: countDistinct(reviews.itemId) })
        .from(reviews)
        .innerJoin(items, eq(items.id, reviews.itemId))
        .leftJoin(leases, eq(leases.itemId, items.id))
        .where(
          and(
            eq(reviews.reviewerId, actor.userId),
            inArray(reviews.action, ['skip', 'unsure']),
            eq(items.catalogueId, catalogueId),
            eq(items.status, 'needs_review'),
            or(isNull(leases.itemId), eq(leases.reviewerId, actor.userId), lte(leases.expiresAt, now)),
          ),
        )
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  return Math.max(0, waiting - heldByOthers - passedOver);
}

/**
 * The reviewer's progress. `since` is the start of their session, which the page chooses: the
 * review pages use the first time this browser tab opened a review page (docs/web-app.md).
 */
export async function reviewProgress(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; since: number; now?: number },
): Promise<ReviewProgress> {
  const actor = requirePermission(input.actor, 'items.review');
  const { catalogueId, since, now = Date.now() } = parseInput(ProgressInput, input);
  const left = await countLeftForReviewer(db, { actor, catalogueId, now });
  const { decisionsToday } = await reviewerStats(db, { actor, since, now });
  return { left, decidedInSession: decisionsToday, sessionSince: new Date(since) };
}
