import { HOUR_MS, queryAll, queryGet, type Figure, type FigureContext } from './common';

export type QueueNowRow = { waiting: number; oldestWaitingSince: string | null; oldestAgeHours: number | null };

/**
 * Items waiting for review now and how long the oldest has waited. Items carry no status
 * timestamp, so "waiting since" is when the item was first scored (its earliest prediction),
 * or its import time when it has none.
 */
export async function queueNow(ctx: FigureContext): Promise<Figure<QueueNowRow>> {
  const row = (await queryGet<{ waiting: number; oldest: number | null }>(
    ctx.db,
    `select count(*) as waiting, min(coalesce((select min(p.created_at) from predictions p where p.item_id = i.id), i.created_at)) as oldest
     from items i where i.catalogue_id = ? and i.status = 'needs_review'`,
    ctx.catalogueId,
  )) ?? { waiting: 0, oldest: null };
  const oldestAgeHours = row.oldest === null ? null : Math.round(((ctx.now - row.oldest) / HOUR_MS) * 10) / 10;
  return {
    source: 'queue',
    rows: [
      {
        waiting: row.waiting,
        oldestWaitingSince: row.oldest === null ? null : new Date(row.oldest).toISOString(),
        oldestAgeHours,
      },
    ],
    columns: ['waiting', 'oldestWaitingSince', 'oldestAgeHours'],
    note: row.waiting === 0 ? 'The queue is empty.' : null,
  };
}

export type QueueFlowRow = { hour: string; in: number; out: number };

export const QUEUE_FLOW_HOURS = 24;

/**
 * Items into and out of the queue per hour over the last 24 hours (the current hour last).
 * In: items now waiting or reviewed whose first prediction was made that hour (routing runs
 * when an item is scored); an item sent back to the queue by a re-score after a promotion
 * is counted at its first scoring only. Out: human decisions (confirm, correct) that stand.
 */
export async function queueFlow(ctx: FigureContext): Promise<Figure<QueueFlowRow>> {
  const end = Math.floor(ctx.now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const start = end - QUEUE_FLOW_HOURS * HOUR_MS;
  const bucket = (at: number) => Math.floor((at - start) / HOUR_MS);
  const rows: QueueFlowRow[] = Array.from({ length: QUEUE_FLOW_HOURS }, (_, h) => ({
    hour: new Date(start + h * HOUR_MS).toISOString(),
    in: 0,
    out: 0,
  }));
  const entered = await queryAll<{ at: number }>(
    ctx.db,
    `select min(p.created_at) as at from items i join predictions p on p.item_id = i.id
     where i.catalogue_id = ? and i.eval_role is null and i.status in ('needs_review', 'reviewed') group by i.id having min(p.created_at) >= ? and min(p.created_at) < ?`,
    ctx.catalogueId,
    start,
    end,
  );
  for (const { at } of entered) rows[bucket(at)]!.in += 1;
  const decided = await queryAll<{ at: number }>(
    ctx.db,
    `select r.created_at as at from reviews r join items i on i.id = r.item_id
     where i.catalogue_id = ? and r.action in ('confirm', 'correct') and r.created_at >= ? and r.created_at < ?
       and not exists (select 1 from reviews u where u.reverts_review_id = r.id)`,
    ctx.catalogueId,
    start,
    end,
  );
  for (const { at } of decided) rows[bucket(at)]!.out += 1;
  const empty = entered.length === 0 && decided.length === 0;
  return {
    source: 'queue',
    rows,
    columns: ['hour', 'in', 'out'],
    note: empty ? 'Nothing entered or left the queue in the last 24 hours.' : null,
  };
}
