import { and, eq, gt, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, withTransaction, firstRow } from '@/db/client';
import { items, leases } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { DEFAULT_LEASE_MS, LEASE_EXPIRED_MESSAGE } from '@/lib/review/queue';
import { describeClaimedItem, type ClaimedItem } from '@/lib/review/claimed-item';
import { findActiveModel } from '@/lib/models/active';
import { requireCatalogueById } from '@/lib/catalogues';

/**
 * Leases on several items at once, for the review pages: the focus view holds the item on
 * screen and a prefetched one, the grid view a whole batch. One statement each, so a
 * heartbeat for a 50-item grid is one write, not fifty.
 */

/** A grid holds at most 50 items, the focus view a handful; this bounds one request. */
export const MAX_LEASES_PER_REQUEST = 60;

const ItemIds = z
  .array(z.number().int().positive())
  .min(1, 'name at least one item')
  .max(MAX_LEASES_PER_REQUEST, `at most ${MAX_LEASES_PER_REQUEST} items at once`)
  .transform((ids) => [...new Set(ids)]);

const RenewLeasesInput = z.object({
  itemIds: ItemIds,
  leaseMs: z
    .number()
    .int()
    .min(10_000)
    .max(30 * 60_000)
    .optional(),
  now: z.number().int().nonnegative().optional(),
});

export interface RenewedLeases {
  /** Items still held by the actor, with the new expiry. */
  renewed: { itemId: number; expiresAt: Date }[];
  /** Items the actor no longer holds (expired and maybe taken, decided, or never held). */
  lost: number[];
}

/**
 * The heartbeat for many items. Owner and liveness are the UPDATE's own WHERE: no
 * read-then-write; an item whose hold lapsed is reported in `lost`, never re-taken here: someone
 * else may have claimed it in between.
 */
export async function renewLeases(
  db: Db,
  input: { actor: Actor | null; itemIds: number[]; leaseMs?: number; now?: number },
): Promise<RenewedLeases> {
  const actor = requirePermission(input.actor, 'items.review');
  const {
    itemIds,
    leaseMs = DEFAULT_LEASE_MS,
    now = Date.now(),
  } = parseInput(RenewLeasesInput, { itemIds: input.itemIds, leaseMs: input.leaseMs, now: input.now });
  const expiresAt = new Date(now + leaseMs);
  const held = new Set(
    (
      await db
        .update(leases)
        .set({ expiresAt })
        .where(
          and(
            inArray(leases.itemId, itemIds),
            eq(leases.reviewerId, actor.userId),
            gt(leases.expiresAt, new Date(now)),
          ),
        )
        .returning({ itemId: leases.itemId })
    ).map((row) => row.itemId),
  );
  return {
    renewed: itemIds.filter((id) => held.has(id)).map((itemId) => ({ itemId, expiresAt })),
    lost: itemIds.filter((id) => !held.has(id)),
  };
}

/** Gives items back (the reviewer left the page). Only the actor's own leases are touched. */
export async function releaseLeases(
  db: Db,
  input: { actor: Actor | null; itemIds: number[] },
): Promise<{ released: number[] }> {
  const actor = requirePermission(input.actor, 'items.review');
  const { itemIds } = parseInput(z.object({ itemIds: ItemIds }), { itemIds: input.itemIds });
  const released = (
    await db
      .delete(leases)
      .where(and(inArray(leases.itemId, itemIds), eq(leases.reviewerId, actor.userId)))
      .returning({ itemId: leases.itemId })
  ).map((row) => row.itemId);
  return { released: released.sort((a, b) => a - b) };
}

/**
 * An item the actor holds a live lease on, described as a claim would (e.g. the item an undo
 * just handed back). 409 when the hold is gone: the screen must not show an item it cannot
 * decide. Reads only the actor's own hold; the caller has checked `items.review`.
 */
export async function describeHeldItem(
  db: Db,
  input: { actor: Actor; itemId: number; now?: number },
): Promise<ClaimedItem> {
  const { actor, itemId } = input;
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(db, async (tx) => {
    const held = await tx
      .select({ expiresAt: leases.expiresAt, catalogueId: items.catalogueId })
      .from(leases)
      .innerJoin(items, eq(items.id, leases.itemId))
      .where(and(eq(leases.itemId, itemId), eq(leases.reviewerId, actor.userId), gt(leases.expiresAt, now)))
      .limit(1)
      .then(firstRow);
    if (!held) throw new AppError('conflict', LEASE_EXPIRED_MESSAGE);
    const catalogue = await requireCatalogueById(tx, held.catalogueId);
    const model = await findActiveModel(tx, catalogue.id);
    return await describeClaimedItem(tx, { itemId, catalogue, model, expiresAt: held.expiresAt });
  });
}
