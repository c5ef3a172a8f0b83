import { and, desc, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Tx, withTransaction, changedRows, firstRow, onlyRow } from '@/db/client';
import { items, leases, reviews, type Review } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { DEFAULT_LEASE_MS } from '@/lib/review/queue';

/** How far back "undo" reaches: long enough to catch a slip, short enough not to rewrite history. */
export const UNDO_WINDOW_MS = 10 * 60_000;

const UndoInput = z.object({
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,100}$/, 'a client id is 8-100 letters, digits, dashes or underscores (e.g. a UUID)'),
  windowMs: z.number().int().positive().optional(),
  leaseMs: z
    .number()
    .int()
    .min(10_000)
    .max(30 * 60_000)
    .optional(),
  now: z.number().int().nonnegative().optional(),
});

export interface UndoResult {
  /** The new `undo` row. */
  undo: Review;
  /** The confirm/correct it reverts, unchanged. */
  undone: Review;
  /** The item is back in needs_review and leased to the actor, so `claimNext` returns it next. */
  itemId: number;
  leaseExpiresAt: Date;
  /** True when this clientId had already undone something: nothing was written this time. */
  replayed: boolean;
}

/**
 * Reverts the actor's most recent confirm/correct that is not undone yet, if it is recent and
 * no later review touched the item. Append-only: the original row stays; a new row with action
 * `undo` names it (`revertsReviewId`, unique, so a review is undone at most once). The item
 * gets back the label it had in the queue: its import label if it came with one (scoring keeps
 * those), else the model's answer; status needs_review; a lease for the actor so they decide
 * again. Idempotent on `clientId`, like a submit: a retried undo must not undo a second one.
 */
export async function undoLastReview(
  db: Db,
  input: { actor: Actor | null; clientId: string; windowMs?: number; leaseMs?: number; now?: number },
): Promise<UndoResult> {
  const actor = requirePermission(input.actor, 'items.review');
  const {
    clientId,
    windowMs = UNDO_WINDOW_MS,
    leaseMs = DEFAULT_LEASE_MS,
    now = Date.now(),
  } = parseInput(UndoInput, input);
  const expiresAt = new Date(now + leaseMs);
  return await withTransaction(
    db,
    async (tx) => {
      const previous = await tx.select().from(reviews).where(eq(reviews.clientId, clientId)).limit(1).then(firstRow);
      if (previous) {
        const undone =
          previous.revertsReviewId === null
            ? undefined
            : await tx.select().from(reviews).where(eq(reviews.id, previous.revertsReviewId)).limit(1).then(firstRow);
        if (previous.action !== 'undo' || previous.reviewerId !== actor.userId || !undone)
          throw new AppError('conflict', 'This client id was already used for a different decision; send a new one.');
        const lease = await tx
          .select({ expiresAt: leases.expiresAt })
          .from(leases)
          .where(and(eq(leases.itemId, undone.itemId), eq(leases.reviewerId, actor.userId)))
          .limit(1)
          .then(firstRow);
        return {
          undo: previous,
          undone,
          itemId: undone.itemId,
          leaseExpiresAt: lease?.expiresAt ?? new Date(now),
          replayed: true,
        };
      }
      const target = await tx
        .select()
        .from(reviews)
        .where(
          and(
            eq(reviews.reviewerId, actor.userId),
            inArray(reviews.action, ['confirm', 'correct']),
            sql`not exists (select 1 from ${reviews} u where u.reverts_review_id = ${reviews.id})`,
          ),
        )
        .orderBy(desc(reviews.id))
        .limit(1)
        .then(firstRow);
      if (!target) throw new AppError('not_found', 'There is no decision of yours left to undo.');
      if (target.createdAt.getTime() < now - windowMs)
        throw new AppError(
          'conflict',
          `Your last decision is more than ${Math.round(windowMs / 60_000)} minutes old; it can no longer be undone.`,
        );
      const later = await tx
        .select({ id: reviews.id })
        .from(reviews)
        .where(and(eq(reviews.itemId, target.itemId), gt(reviews.id, target.id)))
        .limit(1)
        .then(firstRow);
      if (later)
        throw new AppError(
          'conflict',
          'Someone reviewed this item again after you; your decision can no longer be undone.',
        );

      const undo = await revertDecision(tx, { actor, target, clientId, now, expiresAt });
      return { undo, undone: target, itemId: target.itemId, leaseExpiresAt: expiresAt, replayed: false };
    },
    { behavior: 'immediate' },
  );
}

/**
 * The write of one undo, inside the caller's immediate transaction (undoLastReview, the grid's
 * undoGridSubmit): the item gets back the label it had in the queue (its import label if it came
 * with one, which scoring keeps, else the model's answer) and status needs_review, a lease for the
 * actor so they decide again, and a new `undo` row naming `target`. Throws conflict, rolling the
 * caller's transaction back, when the item no longer carries the decision or someone else holds it.
 */
export async function revertDecision(
  tx: Tx,
  input: { actor: Actor; target: Review; clientId: string; now: number; expiresAt: Date },
): Promise<Review> {
  const { actor, target, clientId, now, expiresAt } = input;
  const item = await tx
    .select({ importLabel: items.importLabel, evalRole: items.evalRole })
    .from(items)
    .where(eq(items.id, target.itemId))
    .limit(1)
    .then(firstRow);
  const restored =
    item?.importLabel != null
      ? { currentLabel: item.importLabel, labelSource: 'import' as const }
      : target.modelLabel !== null
        ? { currentLabel: target.modelLabel, labelSource: 'model' as const }
        : { currentLabel: null, labelSource: null };
  // The item must still carry exactly this decision: the condition is the UPDATE's own.
  // A decision on a gold item never changed it (lib/reviews.ts): the undo row alone reverts it.
  const reverted =
    item?.evalRole === 'gold'
      ? 1
      : changedRows(
          await tx
            .update(items)
            .set({ ...restored, status: 'needs_review' })
            .where(
              and(
                eq(items.id, target.itemId),
                eq(items.status, 'reviewed'),
                eq(items.labelSource, 'human'),
                eq(items.currentLabel, target.chosenLabel ?? -1),
              ),
            ),
        );
  if (reverted === 0)
    throw new AppError('conflict', `Item #${target.itemId} changed after your decision; it can no longer be undone.`);
  const leased = changedRows(
    await tx
      .insert(leases)
      .values({ itemId: target.itemId, reviewerId: actor.userId, expiresAt })
      .onConflictDoUpdate({
        target: leases.itemId,
        set: { reviewerId: actor.userId, expiresAt },
        setWhere: lte(leases.expiresAt, new Date(now)),
      }),
  );
  if (leased === 0)
    throw new AppError(
      'conflict',
      `Someone else holds item #${target.itemId} now; your decision can no longer be undone.`,
    );
  const undo = await tx
    .insert(reviews)
    .values({
      itemId: target.itemId,
      reviewerId: actor.userId,
      modelVersionId: target.modelVersionId,
      modelLabel: target.modelLabel,
      chosenLabel: null,
      action: 'undo',
      durationMs: 0,
      clientId,
      revertsReviewId: target.id,
      createdAt: new Date(now),
    })
    .returning()
    .then(onlyRow);
  return undo;
}
