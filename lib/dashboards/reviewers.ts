import { goldAgreement } from '@/lib/review/gold';
import { median } from '@/lib/review/reviewer-stats';
import { HOUR_MS, queryAll, round, type Figure, type FigureContext } from './common';

export type ReviewerThroughputRow = {
  reviewer: string;
  decisions: number;
  decisionsPerHour: number | null;
  medianSeconds: number | null;
};

export const REVIEWER_WINDOW_HOURS = 24;

/**
 * Each reviewer's decisions (confirm, correct, skip, unsure; undone ones not counted) in the
 * last 24 hours, their rate per hour of time spent on them (the recorded durations), and the
 * median seconds per decision.
 */
export async function reviewerThroughput(ctx: FigureContext): Promise<Figure<ReviewerThroughputRow>> {
  const rows = await queryAll<{ reviewer: string; duration_ms: number }>(
    ctx.db,
    `select u.email as reviewer, r.duration_ms from reviews r join items i on i.id = r.item_id join users u on u.id = r.reviewer_id
     where i.catalogue_id = ? and r.action != 'undo' and r.created_at >= ?
       and not exists (select 1 from reviews x where x.reverts_review_id = r.id)
     order by u.email, r.id`,
    ctx.catalogueId,
    ctx.now - REVIEWER_WINDOW_HOURS * HOUR_MS,
  );
  const byReviewer = new Map<string, number[]>();
  for (const row of rows) byReviewer.set(row.reviewer, [...(byReviewer.get(row.reviewer) ?? []), row.duration_ms]);
  const out = [...byReviewer].map(([reviewer, durations]): ReviewerThroughputRow => {
    const totalMs = durations.reduce((a, b) => a + b, 0);
    const medianMs = median(durations);
    return {
      reviewer,
      decisions: durations.length,
      decisionsPerHour: totalMs === 0 ? null : round((durations.length * HOUR_MS) / totalMs, 1),
      medianSeconds: medianMs === null ? null : round(medianMs / 1000, 1),
    };
  });
  return {
    source: 'reviewed',
    rows: out,
    columns: ['reviewer', 'decisions', 'decisionsPerHour', 'medianSeconds'],
    note: out.length === 0 ? 'No decisions in the last 24 hours.' : null,
  };
}

export type GoldAgreementRow = { reviewer: string; goldDecisions: number; agreed: number; agreement: number | null };

/** Each reviewer's agreement with the known labels of gold items (lib/gold.ts: standing confirm/correct decisions). */
export async function goldAgreementFigure(ctx: FigureContext): Promise<Figure<GoldAgreementRow>> {
  const rows = (await goldAgreement(ctx.db, ctx.catalogueId)).map((r) => ({
    reviewer: r.email,
    goldDecisions: r.decided,
    agreed: r.agreed,
    agreement: round(r.accuracy),
  }));
  return {
    source: 'gold',
    rows,
    columns: ['reviewer', 'goldDecisions', 'agreed', 'agreement'],
    note: rows.length === 0 ? 'No gold item has been reviewed yet, so reviewer accuracy is not measured.' : null,
  };
}
