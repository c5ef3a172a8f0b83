import type { Database, Statement } from 'better-sqlite3';
import { and, asc, eq, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '@/db/client';
import { items, leases, predictions, reviews, type Catalogue, type ModelVersion } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/import/parse-input';
import { describeClaimedItem, type ClaimedItem } from './claimed-item';
import { pickMixedInItem } from './mixed-in';
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

interface ClaimContext {
  tx: Tx;
  /** The connection under `tx`, for the prepared statements. */
  sqlite: Database;
  reviewerId: number;
  catalogue: Catalogue;
  model: ModelVersion | null;
  now: Date;
  expiresAt: Date;
}

/** Not held by anyone, or held on a lease that has run out. */
function freeOf(now: Date): SQL {
  return or(isNull(leases.itemId), lte(leases.expiresAt, now))!;
}

/**
 * A reviewer who skipped an item or was unsure of it is not handed it again; others are.
 * Uncorrelated: evaluated once per claim (drizzle queries that run only without an active model).
 */
function notPassedOverBy(reviewerId: number): SQL {
  return sql`${items.id} not in (select ${reviews.itemId} from ${reviews} where ${reviews.reviewerId} = ${reviewerId} and ${reviews.action} in ('skip', 'unsure'))`;
}

/**
 * The queue's hot statements, prepared once per connection. Each walks a partial index that is
 * exactly its order (db/schema/items.ts: items_queue_idx, items_queue_class_idx; INDEXED BY makes
 * a plan that cannot use it fail loudly instead of scanning) and stops at the first free items:
 * held items and those the reviewer passed over are skipped by one probe each (the lease's primary
 * key; reviews_reviewer_item_idx), never by reading the queue. 0.1 ms at 1,000,000 items, where
 * the walk over the active model's predictions took 4-150 ms (docs/operations.md, Benchmarks).
 */
const FREE_AND_NOT_PASSED_OVER = `(leases.item_id is null or leases.expires_at <= @now)
  and not exists (select 1 from reviews where reviews.reviewer_id = @reviewerId and reviews.item_id = items.id
    and reviews.action in ('skip', 'unsure'))`;
const QUEUE_SQL = {
  scored: `select items.id from items indexed by items_queue_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review' and items.queue_confidence is not null
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.queue_confidence, items.queue_margin, items.id limit @limit`,
  // Not scored by the active model (its queue_* columns are null): after the scored ones, oldest first.
  unscored: `select items.id from items indexed by items_queue_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review'
      and items.queue_confidence is null and items.queue_margin is null
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.id limit @limit`,
  inClass: `select items.id from items indexed by items_queue_class_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review' and items.queue_class = @predictedClass
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.queue_confidence desc, items.id limit @limit`,
  /** Compare-and-set: a new lease, or one that has run out taken over; 0 changes when someone holds it. */
  takeLease: `insert into leases (item_id, reviewer_id, expires_at) values (@itemId, @reviewerId, @expiresAt)
    on conflict (item_id) do update set reviewer_id = excluded.reviewer_id, expires_at = excluded.expires_at
    where leases.expires_at <= @now`,
  extendHeld: `update leases set expires_at = @expiresAt
    where item_id = @itemId and reviewer_id = @reviewerId and expires_at > @now`,
  // `+column` keeps SQLite from driving the join by the catalogue's items index: from the
  // reviewer's few leases it is 0.1 ms, from 100,000 catalogue items 150 ms (measured).
  held: `select items.id from leases join items on items.id = leases.item_id
    where leases.reviewer_id = @reviewerId and leases.expires_at > @now and +items.catalogue_id = @catalogueId
      and (items.status = 'needs_review' or items.eval_role = 'gold')
    order by items.id`,
} as const;
const PLUCKED = new Set(['scored', 'unscored', 'inClass', 'held']);
type QueueStatements = { [K in keyof typeof QUEUE_SQL]: Statement };
const prepared = new WeakMap<Database, QueueStatements>();

/** The connection's prepared queue statements (better-sqlite3 statements belong to one connection). */
function queueStatements(sqlite: Database): QueueStatements {
  let statements = prepared.get(sqlite);
  if (!statements) {
    const entries = Object.entries(QUEUE_SQL).map(([name, text]) => {
      const statement = sqlite.prepare(text);
      return [name, PLUCKED.has(name) ? statement.pluck() : statement];
    });
    statements = Object.fromEntries(entries) as QueueStatements;
    prepared.set(sqlite, statements);
  }
  return statements;
}

/**
 * Compare-and-set: takes the lease when there is none or it has expired. Inside the
 * immediate transaction no one can slip in between the pick and this write; the WHERE makes
 * the write itself refuse a live lease anyway. Returns false when someone holds the item.
 */
function takeLease(ctx: ClaimContext, itemId: number): boolean {
  const { reviewerId, expiresAt, now } = ctx;
  return (
    queueStatements(ctx.sqlite).takeLease.run({
      itemId,
      reviewerId,
      expiresAt: expiresAt.getTime(),
      now: now.getTime(),
    }).changes === 1
  );
}

/** Extends the actor's own live leases on these items; returns the ids still held. */
function extendHeld(ctx: ClaimContext, itemIds: number[]): number[] {
  const extend = queueStatements(ctx.sqlite).extendHeld;
  const { reviewerId, expiresAt, now } = ctx;
  return itemIds.filter(
    (itemId) => extend.run({ itemId, reviewerId, expiresAt: expiresAt.getTime(), now: now.getTime() }).changes === 1,
  );
}

/** The actor's live leases on items of this catalogue still waiting for review (a gold item served to them included). */
function heldItemIds(ctx: ClaimContext): number[] {
  return queueStatements(ctx.sqlite).held.all({
    reviewerId: ctx.reviewerId,
    now: ctx.now.getTime(),
    catalogueId: ctx.catalogue.id,
  }) as number[];
}

/** heldItemIds, of those the active model put in `predictedClass` (a grid's reload). */
function heldItemIdsInClass(ctx: ClaimContext, model: ModelVersion, predictedClass: number): number[] {
  const held = heldItemIds(ctx);
  if (held.length === 0) return [];
  const inClass = new Set(
    ctx.tx
      .select({ itemId: predictions.itemId })
      .from(predictions)
      .where(
        and(
          inArray(predictions.itemId, held),
          eq(predictions.modelVersionId, model.id),
          eq(predictions.predictedClass, predictedClass),
        ),
      )
      .all()
      .map((row) => row.itemId),
  );
  return held.filter((id) => inClass.has(id));
}

/**
 * Free items needing review, most uncertain first: lowest calibrated confidence of the
 * active model's prediction, then smallest margin, then oldest. Items the active model has
 * not scored yet (just imported, or a model was just promoted) come after, oldest first.
 */
function pickCandidates(ctx: ClaimContext, limit: number): number[] {
  const { tx, catalogue, model, now } = ctx;
  if (!model)
    return tx
      .select({ id: items.id })
      .from(items)
      .leftJoin(leases, eq(leases.itemId, items.id))
      .where(
        and(
          eq(items.catalogueId, catalogue.id),
          eq(items.status, 'needs_review'),
          freeOf(now),
          notPassedOverBy(ctx.reviewerId),
        ),
      )
      .orderBy(asc(items.id))
      .limit(limit)
      .all()
      .map((row) => row.id);
  const statements = queueStatements(ctx.sqlite);
  const params = { catalogueId: catalogue.id, reviewerId: ctx.reviewerId, now: now.getTime(), limit };
  const scored = statements.scored.all(params) as number[];
  if (scored.length >= limit) return scored;
  return [...scored, ...(statements.unscored.all({ ...params, limit: limit - scored.length }) as number[])];
}

function openClaim(
  db: Db,
  tx: Tx,
  input: { actor: Actor; catalogueId: number; now?: number; leaseMs?: number },
): ClaimContext {
  const now = input.now ?? Date.now();
  const catalogue = requireCatalogueById(tx, input.catalogueId);
  return {
    tx,
    sqlite: db.$client,
    reviewerId: input.actor.userId,
    catalogue,
    model: findActiveModel(tx, catalogue.id),
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
export function claimNext(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; holding?: number[]; leaseMs?: number; now?: number },
): ClaimedItem | null {
  const actor = requirePermission(input.actor, 'items.review');
  const options = parseInput(ClaimNextInput, {
    catalogueId: input.catalogueId,
    holding: input.holding,
    leaseMs: input.leaseMs,
    now: input.now,
  });
  return db.transaction(
    (tx) => {
      const ctx = openClaim(db, tx, { actor, ...options });
      const showing = new Set(options.holding ?? []);
      const held = extendHeld(
        ctx,
        heldItemIds(ctx)
          .filter((id) => !showing.has(id))
          .slice(0, 1),
      );
      if (held[0] !== undefined)
        return describeClaimedItem(tx, {
          itemId: held[0],
          catalogue: ctx.catalogue,
          model: ctx.model,
          expiresAt: ctx.expiresAt,
        });
      // Audit and gold items come first when drawn, looking like any other item (see queue-mixed-in).
      const mixedIn = pickMixedInItem({
        tx,
        sqlite: ctx.sqlite,
        reviewerId: actor.userId,
        catalogueId: ctx.catalogue.id,
        modelVersionId: ctx.model?.id ?? null,
        now: ctx.now,
      });
      // An item the page already shows is never handed out again, even when its hold lapsed
      // meanwhile (it would appear twice on the page, and its pending submit would meet a 409).
      const candidates = [...(mixedIn === null ? [] : [mixedIn]), ...pickCandidates(ctx, 5 + showing.size)].filter(
        (id) => !showing.has(id),
      );
      const itemId = candidates.find((id) => takeLease(ctx, id));
      return itemId === undefined
        ? null
        : describeClaimedItem(tx, { itemId, catalogue: ctx.catalogue, model: ctx.model, expiresAt: ctx.expiresAt });
    },
    { behavior: 'immediate' },
  );
}

/**
 * For the grid view: up to `size` items the active model put in `predictedClass`, leased
 * together. Items the reviewer already holds in that class come first (a reload shows the
 * same grid). Most confident first, the opposite end from `claimNext`: the grid is the fast
 * path for mostly-right batches, and the uncertain items stay for the focus view.
 */
export function claimBatch(
  db: Db,
  input: {
    actor: Actor | null;
    catalogueId: number;
    predictedClass: number;
    size: number;
    leaseMs?: number;
    now?: number;
  },
): ClaimedItem[] {
  const actor = requirePermission(input.actor, 'items.review');
  const { predictedClass, size, ...options } = parseInput(ClaimBatchInput, input);
  return db.transaction(
    (tx) => {
      const ctx = openClaim(db, tx, { actor, ...options });
      if (predictedClass >= ctx.catalogue.classNames.length)
        throw new AppError(
          'bad_input',
          `predictedClass: this catalogue has classes 0-${ctx.catalogue.classNames.length - 1}.`,
        );
      const model = ctx.model;
      if (!model) return [];
      const held = extendHeld(ctx, heldItemIdsInClass(ctx, model, predictedClass).slice(0, size));
      const wanted = size - held.length;
      const fresh = (
        wanted === 0
          ? []
          : (queueStatements(ctx.sqlite).inClass.all({
              catalogueId: ctx.catalogue.id,
              reviewerId: actor.userId,
              now: ctx.now.getTime(),
              predictedClass,
              limit: wanted,
            }) as number[])
      ).filter((id) => takeLease(ctx, id));
      return [...held, ...fresh].map((itemId) =>
        describeClaimedItem(tx, { itemId, catalogue: ctx.catalogue, model, expiresAt: ctx.expiresAt }),
      );
    },
    { behavior: 'immediate' },
  );
}
