import { readModelMetrics } from '@/lib/models/metrics';
import { storedHoldoutAccuracy, summarizeMetrics } from '@/lib/models/versions';
import {
  auditMarkerSql,
  decidedCte,
  NO_AUDIT_MARKER,
  countWhere,
  queryAll,
  queryGet,
  utcDay,
  ratio,
  round,
  type Figure,
  type FigureContext,
} from './common';

export type HoldoutAccuracyRow = {
  version: string;
  promotedAt: string;
  accuracy: number | null;
  /** 'holdout', or 'validation' for a shipped model never measured on this catalogue's holdout. */
  measuredOn: string;
  items: number | null;
};

/**
 * Each version that has been active, by promotion time, with its accuracy on the holdout:
 * a fine-tuned version's own measurement (metrics.holdout), else its stored predictions on
 * the holdout items against their import labels, else a later candidate's measurement of it as
 * the parent, else the validation accuracy it shipped with.
 */
export async function holdoutAccuracyOverTime(ctx: FigureContext): Promise<Figure<HoldoutAccuracyRow>> {
  const versions = await queryAll<{ id: number; name: string; metrics: string | null; at: number }>(
    ctx.db,
    `select id, name, metrics, coalesce(promoted_at, created_at) as at from model_versions
     where catalogue_id = ? and (status in ('active', 'retired') or promoted_at is not null) order by at, id`,
    ctx.catalogueId,
  );
  // A candidate's run measures its parent on the holdout too (metrics.active); the latest counts.
  const measuredAsParent = new Map<number, { accuracy: number; total: number }>();
  for (const row of await queryAll<{ metrics: string }>(
    ctx.db,
    `select metrics from model_versions where catalogue_id = ? and metrics is not null order by created_at, id`,
    ctx.catalogueId,
  )) {
    const parent = readModelMetrics(JSON.parse(row.metrics)).active;
    if (parent?.modelVersionId !== undefined && parent.holdout && parent.holdout.total > 0)
      measuredAsParent.set(parent.modelVersionId, {
        accuracy: parent.holdout.correct / parent.holdout.total,
        total: parent.holdout.total,
      });
  }
  const rows = await Promise.all(
    versions.map(async (v): Promise<HoldoutAccuracyRow> => {
      const summary = summarizeMetrics(v.metrics ? JSON.parse(v.metrics) : null);
      const base = { version: v.name, promotedAt: new Date(v.at).toISOString() };
      if (summary.holdout)
        return {
          ...base,
          accuracy: round(summary.holdout.accuracy),
          measuredOn: 'holdout',
          items: summary.holdout.total,
        };
      const stored = await storedHoldoutAccuracy(ctx.db, { catalogueId: ctx.catalogueId, modelVersionId: v.id });
      if (stored) return { ...base, accuracy: round(stored.accuracy), measuredOn: 'holdout', items: stored.total };
      const asParent = measuredAsParent.get(v.id);
      if (asParent)
        return { ...base, accuracy: round(asParent.accuracy), measuredOn: 'holdout', items: asParent.total };
      return { ...base, accuracy: round(summary.validationAccuracy), measuredOn: 'validation', items: null };
    }),
  );
  const note =
    rows.length === 0
      ? 'No model has been active in this catalogue yet.'
      : rows.some((r) => r.measuredOn === 'validation')
        ? 'A version marked "validation" was never measured on this holdout; its figure is the validation accuracy it shipped with.'
        : null;
  return { source: 'holdout', rows, columns: ['version', 'promotedAt', 'accuracy', 'measuredOn', 'items'], note };
}

export type AuditAccuracyRow = { day: string; audited: number; correct: number; accuracy: number | null };

/** Accuracy of auto-accepted items, per UTC day of the audit decision: the model's answer vs the reviewer's. */
export async function auditAccuracyOverTime(ctx: FigureContext): Promise<Figure<AuditAccuracyRow>> {
  const columns: (keyof AuditAccuracyRow)[] = ['day', 'audited', 'correct', 'accuracy'];
  if ((await auditMarkerSql(ctx.db, 'i')) === null)
    return { source: 'audit sample', rows: [], columns, note: NO_AUDIT_MARKER };
  const rows = (
    await queryAll<{ day: string; audited: number; correct: number }>(
      ctx.db,
      `${await decidedCte(ctx.db)}, latest as (select * from decided d where d.is_audit and d.id = (select max(id) from decided d2 where d2.item_id = d.item_id))
     select ${utcDay(ctx.db, 'created_at')} as day, count(*) as audited, ${countWhere('model_label = chosen_label')} as correct
     from latest where model_label is not null group by day order by day`,
      ctx.catalogueId,
    )
  ).map((r) => ({ ...r, accuracy: round(ratio(r.correct, r.audited)) }));
  return {
    source: 'audit sample',
    rows,
    columns,
    note: rows.length === 0 ? 'No audit item has been reviewed yet.' : null,
  };
}

export type CatalogueAccuracyRow = {
  humanLabelled: number;
  autoAccepted: number;
  auditAccuracy: number | null;
  audited: number;
  estimate: number | null;
};

/**
 * Estimated accuracy of the labels the catalogue ships (holdout and gold items aside):
 * human labels counted as right, auto-accepted ones right at the audit sample's rate.
 * Items still waiting for review are not shipped and not counted.
 */
export async function catalogueAccuracyEstimate(ctx: FigureContext): Promise<Figure<CatalogueAccuracyRow>> {
  const columns: (keyof CatalogueAccuracyRow)[] = [
    'humanLabelled',
    'autoAccepted',
    'auditAccuracy',
    'audited',
    'estimate',
  ];
  const counts = (await queryGet<{ human: number; auto: number }>(
    ctx.db,
    `select ${countWhere(`label_source = 'human'`)} as human, ${countWhere(`status = 'auto_accepted' and label_source = 'model'`)} as auto
     from items where catalogue_id = ? and eval_role is null`,
    ctx.catalogueId,
  )) ?? { human: 0, auto: 0 };
  const audit = await auditAccuracyOverTime(ctx);
  const audited = audit.rows.reduce((sum, r) => sum + r.audited, 0);
  const correct = audit.rows.reduce((sum, r) => sum + r.correct, 0);
  const auditAccuracy = ratio(correct, audited);
  const shipped = counts.human + counts.auto;
  const estimate =
    shipped === 0
      ? null
      : counts.auto > 0 && auditAccuracy === null
        ? null
        : (counts.human + counts.auto * (auditAccuracy ?? 0)) / shipped;
  const row = {
    humanLabelled: counts.human,
    autoAccepted: counts.auto,
    auditAccuracy: round(auditAccuracy),
    audited,
    estimate: round(estimate),
  };
  const note =
    shipped === 0
      ? 'No item has a shipped label yet.'
      : estimate === null
        ? `No estimate: ${audit.note ?? 'no audit decisions yet'}`
        : 'Human labels are counted as correct; auto-accepted labels at the audit sample accuracy.';
  return { source: 'audit sample', rows: [row], columns, note };
}
