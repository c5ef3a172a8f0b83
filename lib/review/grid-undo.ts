import { jsonNumber } from '@/db/dialect';
import { and, eq, gt, gte, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, withTransaction, firstRow } from '@/db/client';
import { items, jobs, reviews, type Review } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { DEFAULT_LEASE_MS } from './queue';
import { revertDecision } from './undo';

/**
 * Undo of a whole grid submit, named by the client ids of its decisions. All or nothing, in one
 * immediate transaction, and only while nothing can have built on those decisions:
 * - the actor's own confirm/correct rows, at most GRID_UNDO_WINDOW_MS old;
 * - no later review of any of the items, by anyone (a later decision would be silently lost);
 * - no training of the catalogue started since the first of them (it may have learned the labels).
 * What it does: the original rows stay (reviews are append-only); each gets an `undo` row naming
 * it, the same as the focus view's undo (revertDecision); each item goes back to needs_review with
 * the label it had in the queue, so the queue counts and order follow through the triggers, and is
 * held by the actor again on a fresh lease, so the grid shows the batch to decide again. Routing
 * facts stay (an audit item is still an audit item), and the reviewer's figures drop the undone
 * decisions. Retrying is safe: decisions the actor already undid are left alone and reported.
 */

/** Short: a grid undo reverts up to 100 decisions at once, so it is for the slip just noticed. */
export const GRID_UNDO_WINDOW_MS = 2 * 60_000;

const ClientId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,100}$/, 'a client id is 8-100 letters, digits, dashes or underscores (e.g. a UUID)');

export const UndoGridInput = z.object({
  clientIds: z
    .array(ClientId)
    .min(1, 'name the decisions of the grid submit to undo by their client ids')
    .max(100, 'a grid submit has at most 100 decisions')
    .refine((list) => new Set(list).size === list.length, 'each client id appears once'),
});
export type UndoGridInput = z.infer<typeof UndoGridInput>;

export interface UndoGridResult {
  /** The decisions reverted, in the order asked. */
  undone: { reviewId: number; itemId: number; action: Review['action']; chosenLabel: number | null }[];
  /** The items, back in the queue and held by the actor until this time. */
  leaseExpiresAt: Date;
  /** True when every decision had been undone already: nothing was written this time. */
  replayed: boolean;
}

/** The undo row's client id: derived, so a retried grid undo finds what the first one wrote. */
function undoClientId(reviewClientId: string): string {
  return `undo.${reviewClientId}`;
}

function itemList(ids: number[]): string {
  const shown = ids.slice(0, 5).map((id) => `#${id}`);
  return ids.length > 5 ? `${shown.join(', ')} and ${ids.length - 5} more` : shown.join(', ');
}

export async function undoGridSubmit(
  db: Db,
  input: UndoGridInput & { actor: Actor | null; windowMs?: number; leaseMs?: number; now?: number },
): Promise<UndoGridResult> {
  const actor = requirePermission(input.actor, 'items.review');
  const { clientIds } = parseInput(UndoGridInput, { clientIds: input.clientIds });
  const now = input.now ?? Date.now();
  const windowMs = input.windowMs ?? GRID_UNDO_WINDOW_MS;
  const expiresAt = new Date(now + (input.leaseMs ?? DEFAULT_LEASE_MS));
  return await withTransaction(
    db,
    async (tx) => {
      const found = await tx.select().from(reviews).where(inArray(reviews.clientId, clientIds));
      const byClientId = new Map(found.map((row) => [row.clientId, row]));
      const missing = clientIds.filter((id) => !byClientId.has(id));
      if (missing.length > 0)
        throw new AppError(
          'not_found',
          `${missing.length} of these decisions were never recorded, so there is nothing to undo for them; nothing was undone.`,
        );
      const targets = clientIds.map((id) => byClientId.get(id)!);
      if (targets.some((row) => row.reviewerId !== actor.userId))
        throw new AppError('forbidden', 'Only your own decisions can be undone; nothing was undone.');
      if (targets.some((row) => row.action !== 'confirm' && row.action !== 'correct'))
        throw new AppError('bad_input', 'Only confirmations and corrections can be undone; nothing was undone.');
      const catalogueIds = new Set(
        (
          await tx
            .select({ catalogueId: items.catalogueId })
            .from(items)
            .where(
              inArray(
                items.id,
                targets.map((row) => row.itemId),
              ),
            )
        ).map((row) => row.catalogueId),
      );
      if (catalogueIds.size !== 1)
        throw new AppError('bad_input', 'A grid submit is one catalogue; these decisions are not one submit.');
      const catalogueId = [...catalogueIds][0]!;

      // Already undone (a retry, or the focus view's undo of one of them): left alone, reported as undone.
      const undoRows = await tx
        .select()
        .from(reviews)
        .where(
          inArray(
            reviews.revertsReviewId,
            targets.map((row) => row.id),
          ),
        );
      const undoneAlready = new Map(undoRows.map((row) => [row.revertsReviewId!, row]));
      const open = targets.filter((row) => !undoneAlready.has(row.id));
      const result = (replayed: boolean): UndoGridResult => ({
        undone: targets.map((row) => ({
          reviewId: row.id,
          itemId: row.itemId,
          action: row.action,
          chosenLabel: row.chosenLabel,
        })),
        leaseExpiresAt: expiresAt,
        replayed,
      });
      if (open.length === 0) return result(true);

      const oldest = Math.min(...open.map((row) => row.createdAt.getTime()));
      if (oldest < now - windowMs)
        throw new AppError(
          'conflict',
          `This grid submit is more than ${Math.round(windowMs / 60_000)} minutes old; it can no longer be undone.`,
        );
      // Any later row on an item (a decision, a skip, someone's undo) means something built on it.
      const reReviewed: number[] = [];
      for (const target of open) {
        const later = await tx
          .select({ id: reviews.id })
          .from(reviews)
          .where(and(eq(reviews.itemId, target.itemId), gt(reviews.id, target.id)))
          .limit(1)
          .then(firstRow);
        if (later !== undefined) reReviewed.push(target.itemId);
      }
      if (reReviewed.length > 0)
        throw new AppError(
          'conflict',
          `${reReviewed.length === 1 ? 'Item' : 'Items'} ${itemList(reReviewed)} ${reReviewed.length === 1 ? 'was' : 'were'} reviewed again after your submit; nothing was undone.`,
        );
      const training = await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(
          and(
            eq(jobs.kind, 'train'),
            gte(jobs.createdAt, new Date(oldest)),
            sql`${jsonNumber(jobs.payload, 'catalogueId')} = ${catalogueId}`,
          ),
        )
        .limit(1)
        .then(firstRow);
      if (training)
        throw new AppError(
          'conflict',
          'A model training started after your submit and may have learned these labels; nothing was undone.',
        );

      for (const target of open)
        await revertDecision(tx, { actor, target, clientId: undoClientId(target.clientId), now, expiresAt });
      return result(false);
    },
    { behavior: 'immediate' },
  );
}
