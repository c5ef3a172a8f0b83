import type { Database, Statement } from 'better-sqlite3';
import { and, asc, eq, inArray, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import { dialectOf, pgExecute, type Tx } from '@/db/client';
import { items, leases, predictions, reviews, type Catalogue, type ModelVersion } from '@/db/schema';

// The queue's candidate picking and leasing inside one claim transaction: the hot
// statements on each database, the compare-and-set lease, and the reviewer's held items (used by queue.ts).

export interface ClaimContext {
  tx: Tx;
  /** The queue's hot statements on the connection under `tx`. */
  run: QueueRunner;
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

interface QueueParams {
  catalogueId: number;
  reviewerId: number;
  now: number;
  limit: number;
}

/**
 * The queue's hot statements, one implementation per database: the same rows, each the fastest
 * way that database has. Every pick walks a partial index that is exactly its order
 * (db/schema/items.ts: items_queue_idx, items_queue_class_idx) and stops at the first free items.
 */
export interface QueueRunner {
  scored(p: QueueParams): Promise<number[]>;
  /** Not scored by the active model (its queue_* columns are null): after the scored ones, oldest first. */
  unscored(p: QueueParams): Promise<number[]>;
  inClass(p: QueueParams & { predictedClass: number }): Promise<number[]>;
  /** Compare-and-set: a new lease, or one that has run out taken over; false when someone holds it. */
  takeLease(p: { itemId: number; reviewerId: number; expiresAt: number; now: number }): Promise<boolean>;
  extendHeld(p: { itemId: number; reviewerId: number; expiresAt: number; now: number }): Promise<boolean>;
  held(p: { reviewerId: number; now: number; catalogueId: number }): Promise<number[]>;
}

/**
 * SQLite: better-sqlite3 statements prepared once per connection. INDEXED BY makes a plan that
 * cannot use the queue's index fail loudly instead of scanning; held items and those the reviewer
 * passed over are skipped by one probe each (the lease's primary key; reviews_reviewer_item_idx),
 * never by reading the queue. 0.1 ms at 1,000,000 items, where the walk over the active model's
 * predictions took 4-150 ms (docs/operations.md, Benchmarks).
 */
const FREE_AND_NOT_PASSED_OVER = `(leases.item_id is null or leases.expires_at <= @now)
  and not exists (select 1 from reviews where reviews.reviewer_id = @reviewerId and reviews.item_id = items.id
    and reviews.action in ('skip', 'unsure'))`;
const QUEUE_SQL = {
  scored: `select items.id from items indexed by items_queue_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review' and items.queue_confidence is not null
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.queue_confidence, items.queue_margin, items.id limit @limit`,
  unscored: `select items.id from items indexed by items_queue_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review'
      and items.queue_confidence is null and items.queue_margin is null
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.id limit @limit`,
  inClass: `select items.id from items indexed by items_queue_class_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.status = 'needs_review' and items.queue_class = @predictedClass
      and ${FREE_AND_NOT_PASSED_OVER}
    order by items.queue_confidence desc, items.id limit @limit`,
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

function sqliteRunner(sqlite: Database): QueueRunner {
  let statements = prepared.get(sqlite);
  if (!statements) {
    const entries = Object.entries(QUEUE_SQL).map(([name, text]) => {
      const statement = sqlite.prepare(text);
      return [name, PLUCKED.has(name) ? statement.pluck() : statement];
    });
    statements = Object.fromEntries(entries) as QueueStatements;
    prepared.set(sqlite, statements);
  }
  const s = statements;
  return {
    scored: async (p) => s.scored.all(p) as number[],
    unscored: async (p) => s.unscored.all(p) as number[],
    inClass: async (p) => s.inClass.all(p) as number[],
    takeLease: async (p) => s.takeLease.run(p).changes === 1,
    extendHeld: async (p) => s.extendHeld.run(p).changes === 1,
    held: async (p) => s.held.all(p) as number[],
  };
}

/**
 * PostgreSQL: the same statements, with the picks taking a row lock on the items they return
 * (FOR UPDATE ... SKIP LOCKED), so that reviewers claiming at the same moment walk past each
 * other's candidates instead of queueing behind them or racing for the same lease. The lease's
 * compare-and-set write stays the guarantee: under READ COMMITTED it sees a lease committed after
 * the pick's snapshot and refuses it. PostgreSQL's planner picks the partial indexes by itself
 * (docs/deployment.md, plan check).
 */
function pgFree(reviewerId: number, now: number): SQL {
  return sql`(leases.item_id is null or leases.expires_at <= ${now})
    and not exists (select 1 from reviews where reviews.reviewer_id = ${reviewerId} and reviews.item_id = items.id
      and reviews.action in ('skip', 'unsure'))`;
}

function pgRunner(tx: Tx): QueueRunner {
  const ids = async (query: SQL) => (await pgExecute<{ id: number }>(tx, query)).rows.map((row) => row.id);
  const changed = async (query: SQL) => (await pgExecute(tx, query)).rowCount === 1;
  return {
    scored: (p) =>
      ids(sql`select items.id from items left join leases on leases.item_id = items.id
        where items.catalogue_id = ${p.catalogueId} and items.status = 'needs_review' and items.queue_confidence is not null
          and ${pgFree(p.reviewerId, p.now)}
        order by items.queue_confidence, items.queue_margin, items.id limit ${p.limit}
        for update of items skip locked`),
    // Ordered like items_queue_idx (its confidence and margin are null here): the same order as by id.
    unscored: (p) =>
      ids(sql`select items.id from items left join leases on leases.item_id = items.id
        where items.catalogue_id = ${p.catalogueId} and items.status = 'needs_review'
          and items.queue_confidence is null and items.queue_margin is null and ${pgFree(p.reviewerId, p.now)}
        order by items.catalogue_id, items.queue_confidence, items.queue_margin, items.id limit ${p.limit}
        for update of items skip locked`),
    inClass: (p) =>
      ids(sql`select items.id from items left join leases on leases.item_id = items.id
        where items.catalogue_id = ${p.catalogueId} and items.status = 'needs_review' and items.queue_class = ${p.predictedClass}
          and ${pgFree(p.reviewerId, p.now)}
        order by items.queue_confidence desc, items.id limit ${p.limit}
        for update of items skip locked`),
    takeLease: (p) =>
      changed(sql`insert into leases (item_id, reviewer_id, expires_at) values (${p.itemId}, ${p.reviewerId}, ${p.expiresAt})
        on conflict (item_id) do update set reviewer_id = excluded.reviewer_id, expires_at = excluded.expires_at
        where leases.expires_at <= ${p.now}`),
    extendHeld: (p) =>
      changed(sql`update leases set expires_at = ${p.expiresAt}
        where item_id = ${p.itemId} and reviewer_id = ${p.reviewerId} and expires_at > ${p.now}`),
    held: (p) =>
      ids(sql`select items.id from leases join items on items.id = leases.item_id
        where leases.reviewer_id = ${p.reviewerId} and leases.expires_at > ${p.now} and items.catalogue_id = ${p.catalogueId}
          and (items.status = 'needs_review' or items.eval_role = 'gold')
        order by items.id`),
  };
}

/** The queue's statements on the connection under `tx` (SQLite: prepared once per connection). */
export function queueRunner(tx: Tx): QueueRunner {
  return dialectOf(tx) === 'postgres' ? pgRunner(tx) : sqliteRunner(tx.$client);
}

/**
 * Compare-and-set: takes the lease when there is none or it has expired. Inside the claim's
 * transaction no one can slip in between the pick and this write on SQLite; the WHERE makes
 * the write itself refuse a live lease anyway (the guarantee on PostgreSQL). Returns false when
 * someone holds the item.
 */
export function takeLease(ctx: ClaimContext, itemId: number): Promise<boolean> {
  const { reviewerId, expiresAt, now } = ctx;
  return ctx.run.takeLease({ itemId, reviewerId, expiresAt: expiresAt.getTime(), now: now.getTime() });
}

/** Extends the actor's own live leases on these items; returns the ids still held. */
export async function extendHeld(ctx: ClaimContext, itemIds: number[]): Promise<number[]> {
  const { reviewerId, expiresAt, now } = ctx;
  const still: number[] = [];
  for (const itemId of itemIds)
    if (await ctx.run.extendHeld({ itemId, reviewerId, expiresAt: expiresAt.getTime(), now: now.getTime() }))
      still.push(itemId);
  return still;
}

/** The actor's live leases on items of this catalogue still waiting for review (a gold item served to them included). */
export function heldItemIds(ctx: ClaimContext): Promise<number[]> {
  return ctx.run.held({ reviewerId: ctx.reviewerId, now: ctx.now.getTime(), catalogueId: ctx.catalogue.id });
}

/** The first of `candidates` this reviewer gets a lease on, or undefined. */
export async function firstLeased(ctx: ClaimContext, candidates: number[]): Promise<number | undefined> {
  for (const id of candidates) if (await takeLease(ctx, id)) return id;
  return undefined;
}

/** heldItemIds, of those the active model put in `predictedClass` (a grid's reload). */
export async function heldItemIdsInClass(
  ctx: ClaimContext,
  model: ModelVersion,
  predictedClass: number,
): Promise<number[]> {
  const held = await heldItemIds(ctx);
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
  const params = { catalogueId: catalogue.id, reviewerId: ctx.reviewerId, now: now.getTime(), limit };
  const scored = await ctx.run.scored(params);
  if (scored.length >= limit) return scored;
  return [...scored, ...(await ctx.run.unscored({ ...params, limit: limit - scored.length }))];
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
