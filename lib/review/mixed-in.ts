import { and, asc, eq, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '@/db/client';
import { items, leases, predictions, reviews, settings } from '@/db/schema';
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

function free(now: Date): SQL {
  return or(isNull(leases.itemId), lte(leases.expiresAt, now))!;
}

/**
 * The reviewer's n-th claim in this catalogue, counted as their decisions here so far: the
 * per-claim draws are a function of (reviewer, n), so a test (or a replay) sees the same
 * sequence, and a reload that claims again before deciding draws the same again.
 */
function claimNumber(ctx: MixedInContext): number {
  return (
    ctx.tx
      .select({ n: sql<number>`count(*)` })
      .from(reviews)
      .innerJoin(items, eq(items.id, reviews.itemId))
      .where(and(eq(reviews.reviewerId, ctx.reviewerId), eq(items.catalogueId, ctx.catalogueId)))
      .get()?.n ?? 0
  );
}

/** A uniform draw in [0, 1) for this reviewer's n-th claim. */
function claimDraw(reviewerId: number, n: number, salt: number): number {
  return auditDraw(n, Math.imul(reviewerId, 0x27d4eb2d) ^ salt);
}

/**
 * A gold item for this reviewer: known label, not held, scored by the active model (so it shows a
 * prediction like any queue item), and never decided by them before. Lowest id first.
 */
function pickGold(ctx: MixedInContext): number | null {
  if (ctx.modelVersionId === null) return null;
  const row = ctx.tx
    .select({ id: items.id })
    .from(items)
    .innerJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, ctx.modelVersionId)))
    .leftJoin(leases, eq(leases.itemId, items.id))
    .where(
      and(
        eq(items.catalogueId, ctx.catalogueId),
        eq(items.evalRole, 'gold'),
        eq(items.status, 'reviewed'),
        free(ctx.now),
        sql`${items.id} not in (select ${reviews.itemId} from ${reviews} where ${reviews.reviewerId} = ${ctx.reviewerId})`,
      ),
    )
    .orderBy(asc(items.id))
    .limit(1)
    .get();
  return row?.id ?? null;
}

/**
 * An audit item, served in proportion to the audit sample's share of the queue: audit items
 * are confident by construction, so the uncertainty order would leave them for last; mixed in at
 * their share, they are reviewed at the pace the queue drains. Oldest first.
 */
function pickAudit(ctx: MixedInContext, draw: number): number | null {
  // The share is read over the whole queue (held or not): an estimate is enough for a rate.
  // INDEXED BY: the audit sample's partial index; the planner would otherwise walk the whole
  // queue's rows (784-byte pixels each), ~40 ms a claim on a 50,000-item queue.
  const total =
    ctx.tx
      .select({ n: sql<number>`count(*)` })
      .from(items)
      .where(and(eq(items.catalogueId, ctx.catalogueId), eq(items.status, 'needs_review')))
      .get()?.n ?? 0;
  const audits =
    ctx.tx.get<{ n: number }>(
      sql`select count(*) as n from items indexed by items_catalogue_audit_idx where catalogue_id = ${ctx.catalogueId} and routing_reason = 'audit' and status = 'needs_review'`,
    )?.n ?? 0;
  if (audits === 0 || draw >= audits / total) return null;
  const row = ctx.tx.get<{ id: number }>(sql`
    select items.id from items indexed by items_catalogue_audit_idx left join leases on leases.item_id = items.id
    where items.catalogue_id = ${ctx.catalogueId} and items.routing_reason = 'audit' and items.status = 'needs_review'
      and (leases.item_id is null or leases.expires_at <= ${ctx.now.getTime()})
      and items.id not in (select item_id from reviews where reviewer_id = ${ctx.reviewerId} and action in ('skip', 'unsure'))
    order by items.id limit 1`);
  return row?.id ?? null;
}

/**
 * Items served ahead of the uncertainty order, blind: on a share `goldRate` of claims a gold item
 * this reviewer has not decided (to measure reviewers), else on a share equal to the audit
 * sample's part of the queue an audit item. Null: take the next item by uncertainty.
 */
export function pickMixedInItem(ctx: MixedInContext): number | null {
  const n = claimNumber(ctx);
  const goldRate =
    ctx.tx.select({ goldRate: settings.goldRate }).from(settings).where(eq(settings.catalogueId, ctx.catalogueId)).get()
      ?.goldRate ?? DEFAULT_GOLD_RATE;
  if (goldRate > 0 && claimDraw(ctx.reviewerId, n, GOLD_SALT) < goldRate) {
    const gold = pickGold(ctx);
    if (gold !== null) return gold;
  }
  return pickAudit(ctx, claimDraw(ctx.reviewerId, n, AUDIT_SALT));
}
