import type { Database, Statement } from 'better-sqlite3';
import { sql, type SQL } from 'drizzle-orm';
import { dialectOf, pgExecute, type Tx } from '@/db/client';
import { auditDraw, DEFAULT_GOLD_RATE } from '@/lib/routing/rules';

/** Salts of the two per-claim draws, so the gold and the audit decisions are independent. */
const GOLD_SALT = 0x60_1d;
const AUDIT_SALT = 0xa0_d1;

export interface MixedInContext {
  tx: Tx;
  reviewerId: number;
  catalogueId: number;
  /** The active model: gold items are served only with its prediction, like any scored item. */
  modelVersionId: number | null;
  now: Date;
}

/**
 * The mix-in's statements (SQLite's, prepared once per connection; PostgreSQL's below). None
 * counts the queue or the reviewer's reviews: the counts are kept by triggers in the writing transactions (queue_counts,
 * reviewer_queue_counts; migration 0007), and the picks walk small indexes and stop at the first
 * free item, with one probe per candidate for "held" (the lease key) and "already decided by this
 * reviewer" (reviews_reviewer_item_idx).
 */
const MIXED_IN_SQL = {
  /**
   * The reviewer's n-th claim in this catalogue, counted as their reviews here so far: the
   * per-claim draws are a function of (reviewer, n), so a test (or a replay) sees the same
   * sequence, and a reload that claims again before deciding draws the same again.
   */
  claimNumber: `select reviews from reviewer_queue_counts where reviewer_id = @reviewerId and catalogue_id = @catalogueId`,
  goldRate: `select gold_rate from settings where catalogue_id = @catalogueId`,
  /**
   * A gold item for this reviewer: known label, not held, scored by the active model (so it shows a
   * prediction like any queue item), and never decided by them before. Lowest id first.
   */
  gold: `select items.id from items indexed by items_catalogue_eval_role_idx
      join predictions on predictions.item_id = items.id and predictions.model_version_id = @modelVersionId
      left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.eval_role = 'gold' and items.status = 'reviewed'
      and (leases.item_id is null or leases.expires_at <= @now)
      and not exists (select 1 from reviews where reviews.reviewer_id = @reviewerId and reviews.item_id = items.id)
    order by items.id limit 1`,
  queueCounts: `select waiting, waiting_audit as waitingAudit from queue_counts where catalogue_id = @catalogueId`,
  // INDEXED BY: the audit sample's partial index; the planner would otherwise walk the whole queue.
  audit: `select items.id from items indexed by items_catalogue_audit_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = @catalogueId and items.routing_reason = 'audit' and items.status = 'needs_review'
      and (leases.item_id is null or leases.expires_at <= @now)
      and not exists (select 1 from reviews where reviews.reviewer_id = @reviewerId and reviews.item_id = items.id
        and reviews.action in ('skip', 'unsure'))
    order by items.id limit 1`,
} as const;
type MixedInStatements = { [K in keyof typeof MIXED_IN_SQL]: Statement };
const prepared = new WeakMap<Database, MixedInStatements>();

interface Picks {
  reviewerId: number;
  catalogueId: number;
  modelVersionId: number;
  now: number;
}

/** The mix-in's reads, one implementation per database. */
interface MixedInRunner {
  claimNumber(p: { reviewerId: number; catalogueId: number }): Promise<number | undefined>;
  goldRate(p: { catalogueId: number }): Promise<number | undefined>;
  gold(p: Picks): Promise<number | undefined>;
  queueCounts(p: { catalogueId: number }): Promise<{ waiting: number; waitingAudit: number } | undefined>;
  audit(p: Omit<Picks, 'modelVersionId'>): Promise<number | undefined>;
}

function sqliteRunner(sqlite: Database): MixedInRunner {
  let found = prepared.get(sqlite);
  if (!found) {
    const entries = Object.entries(MIXED_IN_SQL).map(([name, text]) => {
      const statement = sqlite.prepare(text);
      return [name, name === 'claimNumber' || name === 'goldRate' ? statement.pluck() : statement];
    });
    found = Object.fromEntries(entries) as MixedInStatements;
    prepared.set(sqlite, found);
  }
  const s = found;
  return {
    claimNumber: async (p) => s.claimNumber.get(p) as number | undefined,
    goldRate: async (p) => s.goldRate.get(p) as number | undefined,
    gold: async (p) => (s.gold.get(p) as { id: number } | undefined)?.id,
    queueCounts: async (p) => s.queueCounts.get(p) as { waiting: number; waitingAudit: number } | undefined,
    audit: async (p) => (s.audit.get(p) as { id: number } | undefined)?.id,
  };
}

/**
 * PostgreSQL: the same reads; the two picks lock the item they return and skip items another
 * claim has locked (FOR UPDATE ... SKIP LOCKED), like the queue's picks (claim-candidates.ts).
 */
function pgRunner(tx: Tx): MixedInRunner {
  const first = async <T>(query: SQL) => (await pgExecute<T>(tx, query)).rows[0];
  return {
    claimNumber: async (p) =>
      (
        await first<{ reviews: number }>(
          sql`select reviews from reviewer_queue_counts where reviewer_id = ${p.reviewerId} and catalogue_id = ${p.catalogueId}`,
        )
      )?.reviews,
    goldRate: async (p) =>
      (await first<{ gold_rate: number }>(sql`select gold_rate from settings where catalogue_id = ${p.catalogueId}`))
        ?.gold_rate,
    gold: async (p) =>
      (
        await first<{ id: number }>(sql`select items.id from items
            join predictions on predictions.item_id = items.id and predictions.model_version_id = ${p.modelVersionId}
            left join leases on leases.item_id = items.id
          where items.catalogue_id = ${p.catalogueId} and items.eval_role = 'gold' and items.status = 'reviewed'
            and (leases.item_id is null or leases.expires_at <= ${p.now})
            and not exists (select 1 from reviews where reviews.reviewer_id = ${p.reviewerId} and reviews.item_id = items.id)
          order by items.id limit 1 for update of items skip locked`)
      )?.id,
    queueCounts: (p) =>
      first<{ waiting: number; waitingAudit: number }>(
        sql`select waiting, waiting_audit as "waitingAudit" from queue_counts where catalogue_id = ${p.catalogueId}`,
      ),
    audit: async (p) =>
      (
        await first<{ id: number }>(sql`select items.id from items left join leases on leases.item_id = items.id
          where items.catalogue_id = ${p.catalogueId} and items.routing_reason = 'audit' and items.status = 'needs_review'
            and (leases.item_id is null or leases.expires_at <= ${p.now})
            and not exists (select 1 from reviews where reviews.reviewer_id = ${p.reviewerId} and reviews.item_id = items.id
              and reviews.action in ('skip', 'unsure'))
          order by items.id limit 1 for update of items skip locked`)
      )?.id,
  };
}

/** A uniform draw in [0, 1) for this reviewer's n-th claim. */
function claimDraw(reviewerId: number, n: number, salt: number): number {
  return auditDraw(n, Math.imul(reviewerId, 0x27d4eb2d) ^ salt);
}

async function pickGold(ctx: MixedInContext, run: MixedInRunner): Promise<number | null> {
  if (ctx.modelVersionId === null) return null;
  const id = await run.gold({
    catalogueId: ctx.catalogueId,
    modelVersionId: ctx.modelVersionId,
    reviewerId: ctx.reviewerId,
    now: ctx.now.getTime(),
  });
  return id ?? null;
}

/**
 * An audit item, served in proportion to the audit sample's share of the queue: audit items
 * are confident by construction, so the uncertainty order would leave them for last; mixed in at
 * their share, they are reviewed at the pace the queue drains. Oldest first. The share is read
 * over the whole queue (held or not) from queue_counts: an estimate is enough for a rate, and
 * this one is exact as of the claim's transaction.
 */
async function pickAudit(ctx: MixedInContext, run: MixedInRunner, draw: number): Promise<number | null> {
  const counts = await run.queueCounts({ catalogueId: ctx.catalogueId });
  if (!counts || counts.waitingAudit <= 0 || draw >= counts.waitingAudit / counts.waiting) return null;
  const id = await run.audit({ catalogueId: ctx.catalogueId, reviewerId: ctx.reviewerId, now: ctx.now.getTime() });
  return id ?? null;
}

/**
 * Items served ahead of the uncertainty order, blind: on a share `goldRate` of claims a gold item
 * this reviewer has not decided (to measure reviewers), else on a share equal to the audit
 * sample's part of the queue an audit item. Null: take the next item by uncertainty.
 */
export async function pickMixedInItem(ctx: MixedInContext): Promise<number | null> {
  const run = dialectOf(ctx.tx) === 'postgres' ? pgRunner(ctx.tx) : sqliteRunner(ctx.tx.$client);
  const { reviewerId, catalogueId } = ctx;
  const n = (await run.claimNumber({ reviewerId, catalogueId })) ?? 0;
  const goldRate = (await run.goldRate({ catalogueId })) ?? DEFAULT_GOLD_RATE;
  if (goldRate > 0 && claimDraw(ctx.reviewerId, n, GOLD_SALT) < goldRate) {
    const gold = await pickGold(ctx, run);
    if (gold !== null) return gold;
  }
  return pickAudit(ctx, run, claimDraw(ctx.reviewerId, n, AUDIT_SALT));
}
