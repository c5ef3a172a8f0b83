import { and, eq, gt, inArray } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { leases, reviews, type ReviewAction } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { isAppError } from '@/lib/errors';
import { LEASE_EXPIRED_MESSAGE } from '@/lib/review/queue';
import type { ClaimedItem } from '@/lib/review/claimed-item';
import { describeHeldItem } from '@/lib/review/leases';
import { recordGrid, undoLastReview, type SubmitGridReviewInput } from '@/lib/review/decisions';

/** The review pages' two compound actions, built on the all-or-nothing core in lib/reviews.ts. */

export type GridItemOutcome =
  | { itemId: number; status: 'recorded'; action: ReviewAction; chosenLabel: number | null; replayed: boolean }
  | { itemId: number; status: 'lost'; message: string };

/** Pre-filter rounds: a hold can lapse between the check and the write, rarely twice. */
const GRID_ATTEMPTS = 3;

/**
 * A grid submit that records every decision whose hold is still live and reports the others
 * as lost, instead of losing 24 decisions to one expired hold. Each round picks the decisions
 * the actor may still record (a live lease of theirs, or a client id already recorded, which
 * `submitGridReview` replays) and records them with `submitGridReview`, whose own WHERE
 * clauses stay the check: if a hold lapses in between, the whole round writes nothing and the
 * next round leaves that item out.
 */
export async function submitGridKeepingLive(
  db: Db,
  input: SubmitGridReviewInput & { actor: Actor; now?: number },
): Promise<GridItemOutcome[]> {
  // Parsed once, by the caller (the grid route's body schema is SubmitGridReviewInput's).
  const actor = requirePermission(input.actor, 'items.review');
  const { catalogueId, decisions } = input;
  let previous: string | null = null;
  for (let attempt = 1; ; attempt++) {
    const now = input.now ?? Date.now();
    const itemIds = decisions.map((d) => d.itemId);
    const held = new Set(
      (
        await db
          .select({ itemId: leases.itemId })
          .from(leases)
          .where(
            and(
              inArray(leases.itemId, itemIds),
              eq(leases.reviewerId, actor.userId),
              gt(leases.expiresAt, new Date(now)),
            ),
          )
      ).map((row) => row.itemId),
    );
    const recorded = new Set(
      (
        await db
          .select({ clientId: reviews.clientId })
          .from(reviews)
          .where(
            inArray(
              reviews.clientId,
              decisions.map((d) => d.clientId),
            ),
          )
      ).map((row) => row.clientId),
    );
    const live = decisions.filter((d) => held.has(d.itemId) || recorded.has(d.clientId));
    const lost = (itemId: number): GridItemOutcome => ({ itemId, status: 'lost', message: LEASE_EXPIRED_MESSAGE });
    if (live.length === 0) return decisions.map((d) => lost(d.itemId));
    try {
      const results = await recordGrid(db, { actor, catalogueId, decisions: live, now });
      const byItem = new Map(results.map((r) => [r.review.itemId, r]));
      return decisions.map((d) => {
        const result = byItem.get(d.itemId);
        return result
          ? {
              itemId: d.itemId,
              status: 'recorded',
              action: result.review.action,
              chosenLabel: result.review.chosenLabel,
              replayed: result.replayed,
            }
          : lost(d.itemId);
      });
    } catch (error) {
      // A conflict that is not a lapsed hold (e.g. a reused client id) would repeat: surface it.
      const key = live.map((d) => d.itemId).join(',');
      if (!isAppError(error) || error.code !== 'conflict' || attempt >= GRID_ATTEMPTS || key === previous) throw error;
      previous = key;
    }
  }
}

export interface UndoOutcome {
  undone: { reviewId: number; itemId: number; action: ReviewAction; chosenLabel: number | null };
  /** The item, back in the queue and held by the actor, ready to decide again; null if that hold is gone (a late retry). */
  item: ClaimedItem | null;
  replayed: boolean;
}

/** Undoes the actor's last decision and hands the item back to their screen. */
export async function undoAndReclaim(
  db: Db,
  input: { actor: Actor | null; clientId: string; now?: number },
): Promise<UndoOutcome> {
  const actor = requirePermission(input.actor, 'items.review');
  const result = await undoLastReview(db, { ...input, actor });
  let item: ClaimedItem | null = null;
  try {
    item = await describeHeldItem(db, { actor, itemId: result.itemId, now: input.now });
  } catch (error) {
    if (!(isAppError(error) && error.code === 'conflict')) throw error;
  }
  const { undone } = result;
  return {
    undone: { reviewId: undone.id, itemId: undone.itemId, action: undone.action, chosenLabel: undone.chosenLabel },
    item,
    replayed: result.replayed,
  };
}
