import type { Database, Statement } from 'better-sqlite3';
import { and, asc, eq, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { items, leases, predictions, reviews, type Catalogue, type ModelVersion } from '@/db/schema';

// The queue's candidate picking and leasing inside one claim transaction: the prepared
// statements, the compare-and-set lease, and the reviewer's held items (used by queue.ts).

export interface ClaimContext {
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
export function queueStatements(sqlite: Database): QueueStatements {
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
export function takeLease(ctx: ClaimContext, itemId: number): boolean {
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
export function extendHeld(ctx: ClaimContext, itemIds: number[]): number[] {
  const extend = queueStatements(ctx.sqlite).extendHeld;
  const { reviewerId, expiresAt, now } = ctx;
  return itemIds.filter(
    (itemId) => extend.run({ itemId, reviewerId, expiresAt: expiresAt.getTime(), now: now.getTime() }).changes === 1,
  );
}

/** The actor's live leases on items of this catalogue still waiting for review (a gold item served to them included). */
export function heldItemIds(ctx: ClaimContext): number[] {
  return queueStatements(ctx.sqlite).held.all({
    reviewerId: ctx.reviewerId,
    now: ctx.now.getTime(),
    catalogueId: ctx.catalogue.id,
  }) as number[];
}

/** heldItemIds, of those the active model put in `predictedClass` (a grid's reload). */
export async function heldItemIdsInClass(
  ctx: ClaimContext,
  model: ModelVersion,
  predictedClass: number,
): Promise<number[]> {
  const held = heldItemIds(ctx);
  if (held.length === 0) return [];
  const inClass = new Set(
    (
      await ctx.tx
        .select({ itemId: predictions.itemId })
        .from(predictions)
        .where(
          and(
            inArray(predictions.itemId, held),
            eq(predictions.modelVersionId, model.id),
            eq(predictions.predictedClass, predictedClass),
          ),
        )
    ).map((row) => row.itemId),
  );
  return held.filter((id) => inClass.has(id));
}

/**
 * Free items needing review, most uncertain first: lowest calibrated confidence of the
 * active model's prediction, then smallest margin, then oldest. Items the active model has
 * not scored yet (just imported, or a model was just promoted) come after, oldest first.
 */
export async function pickCandidates(ctx: ClaimContext, limit: number): Promise<number[]> {
  const { tx, catalogue, model, now } = ctx;
  if (!model)
    return (
      await tx
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
    ).map((row) => row.id);
  const statements = queueStatements(ctx.sqlite);
  const params = { catalogueId: catalogue.id, reviewerId: ctx.reviewerId, now: now.getTime(), limit };
  const scored = statements.scored.all(params) as number[];
  if (scored.length >= limit) return scored;
  return [...scored, ...(statements.unscored.all({ ...params, limit: limit - scored.length }) as number[])];
}

/**
 * The grid's order over items of one predicted class: the active model's calibrated confidence,
 * highest first, then oldest (items_queue_class_idx's order). One primary-key probe per item.
 */
export async function mostConfidentFirst(ctx: ClaimContext, model: ModelVersion, itemIds: number[]): Promise<number[]> {
  if (itemIds.length < 2) return itemIds;
  const confidence = new Map(
    (
      await ctx.tx
        .select({ itemId: predictions.itemId, confidence: predictions.confidence })
        .from(predictions)
        .where(and(inArray(predictions.itemId, itemIds), eq(predictions.modelVersionId, model.id)))
    ).map((row) => [row.itemId, row.confidence]),
  );
  const of = (id: number) => confidence.get(id) ?? -1;
  return [...itemIds].sort((a, b) => of(b) - of(a) || a - b);
}
