import { z } from 'zod';
import { type Db, type Tx, withTransaction } from '@/db/client';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { describeClaimedItem, type ClaimedItem } from './claimed-item';
import { pickMixedInItem } from './mixed-in';
import {
  extendHeld,
  heldItemIds,
  heldItemIdsInClass,
  firstLeased,
  mostConfidentFirst,
  pickCandidates,
  queueRunner,
  takeLease,
  type ClaimContext,
} from './claim-candidates';
import { findActiveModel } from '@/lib/models/active';
import { requireCatalogueById } from '@/lib/catalogues';

export type { ClaimedItem, TopPrediction } from './claimed-item';

/** Long enough to decide a hard item, short enough that a closed tab frees it soon. */
export const DEFAULT_LEASE_MS = 5 * 60_000;
export const LEASE_EXPIRED_MESSAGE = 'Your hold on this item expired; it went back to the queue.';

const LeaseMs = z
  .number()
  .int()
  .min(10_000, 'a lease lasts at least 10 s')
  .max(30 * 60_000, 'a lease lasts at most 30 min');
const Id = z.number().int().positive();
/** `now` is injectable (ms since the epoch) so tests move the clock instead of sleeping. */
const Clock = { now: z.number().int().nonnegative().optional(), leaseMs: LeaseMs.optional() };

const ClaimNextInput = z.object({
  catalogueId: Id,
  /** Items the client already has (on screen, prefetched): a held lease on another is returned first. */
  holding: z.array(Id).max(5).optional(),
  ...Clock,
});
const ClaimBatchInput = z.object({
  catalogueId: Id,
  predictedClass: z.number().int().nonnegative(),
  size: z.number().int().min(1).max(100),
  ...Clock,
});

async function openClaim(
  db: Db,
  tx: Tx,
  input: { actor: Actor; catalogueId: number; now?: number; leaseMs?: number },
): Promise<ClaimContext> {
  const now = input.now ?? Date.now();
  const catalogue = await requireCatalogueById(db, input.catalogueId);
  return {
    tx,
    run: queueRunner(tx),
    reviewerId: input.actor.userId,
    catalogue,
    model: await findActiveModel(db, catalogue.id),
    now: new Date(now),
    expiresAt: new Date(now + (input.leaseMs ?? DEFAULT_LEASE_MS)),
  };
}

/**
 * Hands the reviewer the next item and a lease on it, or null when nothing is left for them.
 * A reviewer who already holds a live lease (a reload, a second tab) gets that item back,
 * renewed, instead of a second one; `holding` names items the client already shows, so a
 * prefetch gets a different one, even if the hold on one of them has lapsed.
 */
export async function claimNext(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; holding?: number[]; leaseMs?: number; now?: number },
): Promise<ClaimedItem | null> {
  const actor = requirePermission(input.actor, 'items.review');
  const options = parseInput(ClaimNextInput, {
    catalogueId: input.catalogueId,
    holding: input.holding,
    leaseMs: input.leaseMs,
    now: input.now,
  });
  return await withTransaction(
    db,
    async (tx) => {
      const ctx = await openClaim(tx, tx, { actor, ...options });
      const showing = new Set(options.holding ?? []);
      const held = await extendHeld(ctx, (await heldItemIds(ctx)).filter((id) => !showing.has(id)).slice(0, 1));
      if (held[0] !== undefined)
        return await describeClaimedItem(tx, {
          itemId: held[0],
          catalogue: ctx.catalogue,
          model: ctx.model,
          expiresAt: ctx.expiresAt,
        });
      // Audit and gold items come first when drawn, looking like any other item (see queue-mixed-in).
      const mixedIn = await pickMixedInItem({
        tx,
        reviewerId: actor.userId,
        catalogueId: ctx.catalogue.id,
        modelVersionId: ctx.model?.id ?? null,
        now: ctx.now,
      });
      // An item the page already shows is never handed out again, even when its hold lapsed
      // meanwhile (it would appear twice on the page, and its pending submit would meet a 409).
      const candidates = [
        ...(mixedIn === null ? [] : [mixedIn]),
        ...(await pickCandidates(ctx, 5 + showing.size)),
      ].filter((id) => !showing.has(id));
      const itemId = await firstLeased(ctx, candidates);
      return itemId === undefined
        ? null
        : await describeClaimedItem(tx, {
            itemId,
            catalogue: ctx.catalogue,
            model: ctx.model,
            expiresAt: ctx.expiresAt,
          });
    },
    { behavior: 'locking' },
  );
}

/**
 * For the grid view: up to `size` items the active model put in `predictedClass`, leased
 * together. Items the reviewer already holds in that class are included (a reload shows the
 * same grid), and the whole batch is served most confident first, held items included: a hold
 * carried over from the focus view (an uncertain item) takes its place by confidence, not the
 * first cell. Most confident first is the opposite end from `claimNext`: the grid is the fast
 * path for mostly-right batches, and the uncertain items stay for the focus view.
 */
export async function claimBatch(
  db: Db,
  input: {
    actor: Actor | null;
    catalogueId: number;
    predictedClass: number;
    size: number;
    leaseMs?: number;
    now?: number;
  },
): Promise<ClaimedItem[]> {
  const actor = requirePermission(input.actor, 'items.review');
  const { predictedClass, size, ...options } = parseInput(ClaimBatchInput, input);
  return await withTransaction(
    db,
    async (tx) => {
      const ctx = await openClaim(tx, tx, { actor, ...options });
      if (predictedClass >= ctx.catalogue.classNames.length)
        throw new AppError(
          'bad_input',
          `predictedClass: this catalogue has classes 0-${ctx.catalogue.classNames.length - 1}.`,
        );
      const model = ctx.model;
      if (!model) return [];
      const held = await extendHeld(ctx, (await heldItemIdsInClass(ctx, model, predictedClass)).slice(0, size));
      const wanted = size - held.length;
      const picked =
        wanted === 0
          ? []
          : await ctx.run.inClass({
              catalogueId: ctx.catalogue.id,
              reviewerId: actor.userId,
              now: ctx.now.getTime(),
              predictedClass,
              limit: wanted,
            });
      const fresh: number[] = [];
      for (const id of picked) if (await takeLease(ctx, id)) fresh.push(id);
      // `fresh` comes in the index's order already; only held items need placing among them.
      const batch = held.length === 0 ? fresh : await mostConfidentFirst(ctx, model, [...held, ...fresh]);
      const claimed: ClaimedItem[] = [];
      for (const itemId of batch)
        claimed.push(
          await describeClaimedItem(tx, { itemId, catalogue: ctx.catalogue, model, expiresAt: ctx.expiresAt }),
        );
      return claimed;
    },
    { behavior: 'locking' },
  );
}
