import { and, eq, gt, inArray, isNull, notInArray, sql } from 'drizzle-orm';
import { type Tx, type Reader, changedRows, firstRow } from '@/db/client';
import { items, leases, predictions, type RoutingReason } from '@/db/schema';
import { routeItem, type RouteDecision, type RoutingRules } from '@/lib/routing/rules';
import { findActiveModel } from '@/lib/models/active';

/** Ids per `IN (...)` list: far below SQLite's bound-variable limit. */
const ID_CHUNK = 500;

export interface RerouteResult {
  /** Auto-accepted items that now go to the review queue (audits included). */
  entered: number;
  /** Items waiting for review that are now auto-accepted. */
  left: number;
  /** Routable items a reviewer holds on a live lease: left where they are, though a change was due. */
  held: number;
}

type Routed = Extract<RoutingReason, 'confidence' | 'audit'> | null;

/** Items moving from one (status) to one routing decision: written with a few chunked UPDATEs. */
interface RerouteGroup {
  from: 'auto_accepted' | 'needs_review';
  to: RouteDecision;
  ids: number[];
}

export interface ReroutePlan {
  groups: RerouteGroup[];
  /** Routable items a reviewer holds on a live lease whose status would change: they stay. */
  held: number;
}

function routableItems(catalogueId: number) {
  return and(
    eq(items.catalogueId, catalogueId),
    inArray(items.status, ['auto_accepted', 'needs_review']),
    eq(items.labelSource, 'model'),
    isNull(items.evalRole),
  );
}

/**
 * Which items routing `rules` would move, read only: the plan `rerouteCatalogue` writes, and
 * what a settings form previews before a save. Only items routing decides count: status
 * auto_accepted or needs_review, label from the model (human labels are final; import labels go
 * by agreement with the model, not by confidence), no evaluation role, and a prediction by the
 * active model. Items a reviewer holds on a live lease are counted in `held` and left out.
 */
export async function planReroute(
  db: Reader,
  input: { catalogueId: number; rules: RoutingRules; now: Date },
): Promise<ReroutePlan> {
  const { catalogueId, rules, now } = input;
  const model = await findActiveModel(db, catalogueId);
  if (!model) return { groups: [], held: 0 };
  const rows = await db
    .select({
      id: items.id,
      status: items.status,
      reason: items.routingReason,
      predictedClass: predictions.predictedClass,
      confidence: predictions.confidence,
      held: leases.itemId,
    })
    .from(items)
    .innerJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, model.id)))
    .leftJoin(leases, and(eq(leases.itemId, items.id), gt(leases.expiresAt, now)))
    .where(routableItems(catalogueId));
  const groups = new Map<string, RerouteGroup>();
  let held = 0;
  for (const row of rows) {
    const to = routeItem({ itemId: row.id, predictedClass: row.predictedClass, confidence: row.confidence }, rules);
    if (to.status === row.status && to.reason === row.reason) continue;
    if (row.held !== null) {
      if (to.status !== row.status) held++;
      continue;
    }
    const from = row.status as 'auto_accepted' | 'needs_review';
    const key = `${from}|${to.status}|${to.reason}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { from, to, ids: [] }));
    group.ids.push(row.id);
  }
  return { groups: [...groups.values()], held };
}

/** What a plan would do to the queue, counted as `rerouteCatalogue` reports it. */
export function countPlannedMoves(plan: ReroutePlan): RerouteResult {
  const result: RerouteResult = { entered: 0, left: 0, held: plan.held };
  for (const { from, to, ids } of plan.groups) {
    if (from === 'auto_accepted' && to.status === 'needs_review') result.entered += ids.length;
    if (from === 'needs_review' && to.status === 'auto_accepted') result.left += ids.length;
  }
  return result;
}

/**
 * Routes a catalogue's model-labelled items again under `rules`, inside the caller's
 * immediate transaction (which items: `planReroute`). Items a reviewer holds on a live lease
 * stay as they are, so no open item vanishes from under anyone.
 */
export async function rerouteCatalogue(
  tx: Tx,
  input: { catalogueId: number; rules: RoutingRules; now: Date },
): Promise<RerouteResult> {
  const { catalogueId, now } = input;
  const plan = await planReroute(tx, input);
  const result: RerouteResult = { entered: 0, left: 0, held: plan.held };
  const liveLeases = tx.select({ itemId: leases.itemId }).from(leases).where(gt(leases.expiresAt, now));
  for (const { from, to, ids } of plan.groups) {
    let changed = 0;
    for (let start = 0; start < ids.length; start += ID_CHUNK) {
      // The WHERE repeats every condition, so the write itself cannot move an item that is
      // held or labelled by a human, whatever the read above saw.
      changed += changedRows(
        await tx
          .update(items)
          .set({ status: to.status, routingReason: to.reason satisfies Routed })
          .where(
            and(
              inArray(items.id, ids.slice(start, start + ID_CHUNK)),
              routableItems(catalogueId),
              eq(items.status, from),
              notInArray(items.id, liveLeases),
            ),
          ),
      );
    }
    if (from === 'auto_accepted' && to.status === 'needs_review') result.entered += changed;
    if (from === 'needs_review' && to.status === 'auto_accepted') result.left += changed;
  }
  return result;
}

/** Items of the audit sample still waiting for a reviewer. */
export async function countWaitingAudits(tx: Reader, catalogueId: number): Promise<number> {
  return (
    (
      await tx
        .select({ n: sql<number>`count(*)` })
        .from(items)
        .where(
          and(eq(items.catalogueId, catalogueId), eq(items.routingReason, 'audit'), eq(items.status, 'needs_review')),
        )
        .limit(1)
        .then(firstRow)
    )?.n ?? 0
  );
}
