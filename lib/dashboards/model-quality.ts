import { findActiveModel } from '@/lib/models/active';
import { classificationReport, expectedCalibrationError, riskCoverage } from '@/lib/ml/metrics';
import {
  auditMarkerSql,
  decidedCte,
  NO_AUDIT_MARKER,
  queryAll,
  round,
  type Figure,
  type FigureContext,
} from './common';

/** Which human decisions a figure compares the model with. */
export type DecisionSet = 'reviewed' | 'audit sample';

export type ConfusionRow = { reviewerClass: string; modelClass: string; count: number };
export type ClassMetricsRow = { class: string; precision: number | null; recall: number | null; support: number };

const BIAS_NOTE =
  'Reviewed items reached review because the model was unsure: these figures understate the accuracy of what it auto-accepts.';

/**
 * Counts (reviewer's class x model's class) over the latest standing decision per item:
 * 'reviewed' is the ordinary queue (audit, gold and holdout items aside), 'audit sample' the
 * audited auto-accepted items. Null when the audit marker does not exist yet.
 */
async function decisionConfusion(ctx: FigureContext, set: DecisionSet): Promise<number[][] | null> {
  const audit = await auditMarkerSql(ctx.db, 'i');
  if (set === 'audit sample' && audit === null) return null;
  const filter = set === 'audit sample' ? 'd.is_audit' : 'not d.is_audit and d.eval_role is null';
  const k = ctx.classNames.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const rows = await queryAll<{ chosen: number; model: number; n: number }>(
    ctx.db,
    `${await decidedCte(ctx.db)}
     select d.chosen_label as chosen, d.model_label as model, count(*) as n from decided d
     where ${filter} and d.model_label is not null and d.chosen_label is not null
       and d.id = (select max(id) from decided d2 where d2.item_id = d.item_id)
     group by d.chosen_label, d.model_label`,
    ctx.catalogueId,
  );
  for (const r of rows) if (r.chosen < k && r.model < k) matrix[r.chosen]![r.model]! += r.n;
  return matrix;
}

function emptyNote(set: DecisionSet): string {
  return set === 'audit sample' ? 'No audit item has been reviewed yet.' : 'No item has been reviewed yet.';
}

export async function confusionOnDecisions(ctx: FigureContext, set: DecisionSet): Promise<Figure<ConfusionRow>> {
  const columns: (keyof ConfusionRow)[] = ['reviewerClass', 'modelClass', 'count'];
  const matrix = await decisionConfusion(ctx, set);
  if (matrix === null) return { source: set, rows: [], columns, note: NO_AUDIT_MARKER };
  const rows = matrix.flatMap((row, t) =>
    row.map((count, p) => ({ reviewerClass: ctx.classNames[t]!, modelClass: ctx.classNames[p]!, count })),
  );
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  return {
    source: set,
    rows: total === 0 ? [] : rows,
    columns,
    note: total === 0 ? emptyNote(set) : set === 'reviewed' ? BIAS_NOTE : null,
  };
}

/** Per-class precision and recall of the model's answers, taking the reviewer's answer as truth. */
export async function classMetricsOnDecisions(ctx: FigureContext, set: DecisionSet): Promise<Figure<ClassMetricsRow>> {
  const columns: (keyof ClassMetricsRow)[] = ['class', 'precision', 'recall', 'support'];
  const matrix = await decisionConfusion(ctx, set);
  if (matrix === null) return { source: set, rows: [], columns, note: NO_AUDIT_MARKER };
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  if (total === 0) return { source: set, rows: [], columns, note: emptyNote(set) };
  const { perClass } = classificationReport({ confusion: matrix, classNames: ctx.classNames });
  // A class never predicted has no precision and one never chosen no recall: null, not sklearn's 0.
  const rows = perClass.map((m, c) => {
    const predicted = matrix.reduce((sum, row) => sum + (row[c] ?? 0), 0);
    return {
      class: m.class,
      precision: predicted === 0 ? null : round(m.precision),
      recall: m.support === 0 ? null : round(m.recall),
      support: m.support,
    };
  });
  return { source: set, rows, columns, note: set === 'reviewed' ? BIAS_NOTE : null };
}

interface HoldoutPredictions {
  probs: Float32Array;
  labels: Int32Array;
  k: number;
}

/** The active model's stored predictions on the holdout items, with their import labels. */
async function readHoldoutPredictions(ctx: FigureContext): Promise<HoldoutPredictions | null> {
  const model = await findActiveModel(ctx.db, ctx.catalogueId);
  if (!model) return null;
  const rows = await queryAll<{ probs: string; label: number }>(
    ctx.db,
    `select p.probs, i.import_label as label from items i join predictions p on p.item_id = i.id and p.model_version_id = ?
     where i.catalogue_id = ? and i.eval_role = 'holdout' and i.import_label is not null order by i.id`,
    model.id,
    ctx.catalogueId,
  );
  const k = ctx.classNames.length;
  const usable = rows
    .map((r) => ({ probs: JSON.parse(r.probs) as number[], label: r.label }))
    .filter((r) => r.probs.length === k && r.label < k);
  if (usable.length === 0) return null;
  const probs = new Float32Array(usable.length * k);
  usable.forEach((r, i) => probs.set(r.probs, i * k));
  return { probs, labels: Int32Array.from(usable.map((r) => r.label)), k };
}

const NO_HOLDOUT =
  'The active model has no stored predictions on holdout items yet (import labelled items with --holdout, then score).';

export type ReliabilityRow = {
  binLower: number;
  binUpper: number;
  count: number;
  confidence: number | null;
  accuracy: number | null;
};

/** Reliability diagram of the active model on the holdout: mean confidence vs accuracy per confidence bin. */
export async function reliabilityOnHoldout(ctx: FigureContext, bins = 10): Promise<Figure<ReliabilityRow>> {
  const columns: (keyof ReliabilityRow)[] = ['binLower', 'binUpper', 'count', 'confidence', 'accuracy'];
  const data = await readHoldoutPredictions(ctx);
  if (!data) return { source: 'holdout', rows: [], columns, note: NO_HOLDOUT };
  const { ece, reliability } = expectedCalibrationError({ ...data, bins });
  const rows = reliability.map((b) => ({
    binLower: round(b.binLower)!,
    binUpper: round(b.binUpper)!,
    count: b.count,
    confidence: round(b.confidence),
    accuracy: round(b.accuracy),
  }));
  return {
    source: 'holdout',
    rows,
    columns,
    note: `Expected calibration error ${(ece * 100).toFixed(2)}% over ${data.labels.length} holdout items (${bins} bins).`,
  };
}

export type RiskCoverageRow = { threshold: number; coverage: number; accuracy: number | null };

/** Risk-coverage on the holdout: share auto-accepted and their accuracy at each confidence threshold. */
export async function riskCoverageOnHoldout(ctx: FigureContext): Promise<Figure<RiskCoverageRow>> {
  const columns: (keyof RiskCoverageRow)[] = ['threshold', 'coverage', 'accuracy'];
  const data = await readHoldoutPredictions(ctx);
  if (!data) return { source: 'holdout', rows: [], columns, note: NO_HOLDOUT };
  const rows = riskCoverage(data).map((p) => ({
    threshold: p.threshold,
    coverage: round(p.coverage)!,
    accuracy: round(p.accuracy),
  }));
  return { source: 'holdout', rows, columns, note: null };
}
