import { and, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db, Reader } from '@/db/client';
import { items, predictions, reviews } from '@/db/schema';
import { goldAgreement } from '@/lib/review/gold';
import { findActiveModel } from '@/lib/models/active';
import { median } from '@/lib/review/reviewer-stats';
import { getRoutingRules, type RoutingRules } from '@/lib/routing/rules';
import { wilsonInterval, type WilsonInterval } from '@/lib/stats/wilson';
import {
  projectionThresholds,
  projectPoints,
  type HoldoutPrediction,
  type ProjectionPoint,
  type RoutableItem,
} from './projection-figures';

/** Used until gold items have been reviewed; the page labels it as assumed. */
export const ASSUMED_REVIEWER_ACCURACY = 0.98;
/** Used until there are reviews; the page labels it as assumed. */
export const ASSUMED_SECONDS_PER_DECISION = 4;
/** The median time per decision is taken over the catalogue's latest decisions. */
const RECENT_DECISIONS = 5000;

export interface MeasuredFigure {
  value: number;
  source: 'gold' | 'reviews' | 'given' | 'assumed';
  /** How many decisions it was measured on (0 when assumed or given). */
  decisions: number;
}

export interface ObservedAudit {
  /** Accuracy of the active model's answers on audited items, with its 95% Wilson interval. */
  interval: WilsonInterval;
  /** The projected accuracy of auto-accepted items at the current setting (holdout). */
  projected: number | null;
  /** True when the projection lies outside the observed interval. */
  outside: boolean | null;
}

export interface ThresholdProjection {
  catalogueId: number;
  model: { id: number; name: string } | null;
  /** The catalogue's routing rules now; every point keeps its overrides and audit rate. */
  rules: RoutingRules;
  /** Holdout items with a stored prediction of the active model, and how many still lack one. */
  holdout: { items: number; missing: number };
  reviewerAccuracy: MeasuredFigure;
  secondsPerDecision: MeasuredFigure;
  /** The grid (0.50 to 0.99) plus the current threshold, ascending. */
  points: ProjectionPoint[];
  /** The point of the current threshold (with per-class overrides applied). */
  current: ProjectionPoint | null;
  observed: ObservedAudit | null;
  /** A sentence on projected versus observed, for the page. */
  comparison: string;
  /** Which data each figure comes from, in words. */
  sources: {
    reviewShare: string;
    autoAccuracy: string;
    catalogueAccuracy: string;
    queue: string;
    reviewerHours: string;
    observed: string;
  };
  /** Why there is nothing to project, when that is the case. */
  unavailable: string | null;
}

const notUndone = sql`not exists (select 1 from ${reviews} u where u.reverts_review_id = ${reviews.id})`;
const isDecision = inArray(reviews.action, ['confirm', 'correct']);

/** The active model's stored predictions on the catalogue's holdout items, with their trusted labels. */
export async function readHoldoutPredictions(
  db: Reader,
  input: { catalogueId: number; modelVersionId: number },
): Promise<{ rows: HoldoutPrediction[]; missing: number }> {
  const all = await db
    .select({
      predictedClass: predictions.predictedClass,
      confidence: predictions.confidence,
      label: items.importLabel,
    })
    .from(items)
    .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelVersionId)))
    .where(and(eq(items.catalogueId, input.catalogueId), eq(items.evalRole, 'holdout'), isNotNull(items.importLabel)));
  const rows: HoldoutPrediction[] = [];
  for (const row of all)
    if (row.predictedClass !== null && row.confidence !== null && row.label !== null)
      rows.push({ predictedClass: row.predictedClass, confidence: row.confidence, label: row.label });
  return { rows, missing: all.length - rows.length };
}

/** Items the threshold decides, as lib/settings re-routes them, with the active model's prediction. */
async function readRoutableItems(
  db: Reader,
  input: { catalogueId: number; modelVersionId: number },
): Promise<RoutableItem[]> {
  return (await db
    .select({
      itemId: items.id,
      predictedClass: predictions.predictedClass,
      confidence: predictions.confidence,
      status: items.status,
    })
    .from(items)
    .innerJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelVersionId)))
    .where(
      and(
        eq(items.catalogueId, input.catalogueId),
        inArray(items.status, ['auto_accepted', 'needs_review']),
        eq(items.labelSource, 'model'),
        isNull(items.evalRole),
      ),
    )) as RoutableItem[];
}

/** Reviewers' accuracy on gold items, pooled over reviewers (lib/gold.ts: one definition for the dashboards and here). */
export async function measureReviewerAccuracy(
  db: Reader,
  catalogueId: number,
): Promise<{ correct: number; total: number }> {
  let correct = 0;
  let total = 0;
  for (const reviewer of await goldAgreement(db, catalogueId)) {
    correct += reviewer.agreed;
    total += reviewer.decided;
  }
  return { correct, total };
}

/** Median seconds per decision over the catalogue's latest decisions (skip and unsure count: they cost time too). */
export async function measureSecondsPerDecision(
  db: Reader,
  catalogueId: number,
): Promise<{ seconds: number | null; decisions: number }> {
  const durations = (
    await db
      .select({ ms: reviews.durationMs })
      .from(reviews)
      .innerJoin(items, eq(items.id, reviews.itemId))
      .where(
        and(
          eq(items.catalogueId, catalogueId),
          inArray(reviews.action, ['confirm', 'correct', 'skip', 'unsure']),
          notUndone,
        ),
      )
      .orderBy(desc(reviews.id))
      .limit(RECENT_DECISIONS)
  ).map((row) => row.ms);
  const ms = median(durations);
  return { seconds: ms === null ? null : ms / 1000, decisions: durations.length };
}

/**
 * The audit sample's verdicts on the active model's answers: audit items are would-be
 * auto-accepted items routed to review at random, so reviewers' confirmations and corrections
 * of them measure what the system ships without bias. The latest standing decision per item.
 */
export async function measureAuditAccuracy(
  db: Reader,
  input: { catalogueId: number; modelVersionId: number },
): Promise<{ correct: number; total: number }> {
  const rows = await db
    .select({
      id: reviews.id,
      itemId: reviews.itemId,
      modelLabel: reviews.modelLabel,
      chosenLabel: reviews.chosenLabel,
    })
    .from(reviews)
    .innerJoin(items, eq(items.id, reviews.itemId))
    .where(
      and(
        eq(items.catalogueId, input.catalogueId),
        eq(items.routingReason, 'audit'),
        isNull(items.evalRole),
        eq(reviews.modelVersionId, input.modelVersionId),
        isDecision,
        notUndone,
      ),
    );
  const latest = new Map<number, (typeof rows)[number]>();
  for (const row of rows) if ((latest.get(row.itemId)?.id ?? -1) < row.id) latest.set(row.itemId, row);
  let correct = 0;
  for (const row of latest.values()) if (row.modelLabel !== null && row.modelLabel === row.chosenLabel) correct++;
  return { correct, total: latest.size };
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function compare(observed: ObservedAudit | null): string {
  if (!observed) return 'No audit sample yet: no audited item of the active model has been reviewed.';
  const { interval, projected, outside } = observed;
  const measured = `The audit sample measures ${percent(interval.estimate)} (95% interval ${percent(interval.low)}–${percent(interval.high)}, ${interval.successes} of ${interval.trials} right)`;
  if (projected === null || outside === null)
    return `${measured}; there is no projection at the current setting to compare it with.`;
  return outside
    ? `${measured}: the projection of ${percent(projected)} falls outside it, so held-out data does not describe what the catalogue ships (a drift in the items, or calibration off).`
    : `${measured}: the projection of ${percent(projected)} lies inside it.`;
}

/**
 * What each threshold would cost and buy, from the active model's predictions on the holdout
 * (never its training data), for the catalogue as it is now. See docs/routing.md, "Threshold projection".
 */
export async function projectThresholds(
  db: Db,
  input: { catalogueId: number; reviewerAccuracy?: number },
): Promise<ThresholdProjection> {
  const { catalogueId } = input;
  const rules = await getRoutingRules(db, catalogueId);
  const model = await findActiveModel(db, catalogueId);
  const gold = await measureReviewerAccuracy(db, catalogueId);
  const reviewerAccuracy: MeasuredFigure =
    input.reviewerAccuracy !== undefined
      ? { value: input.reviewerAccuracy, source: 'given', decisions: 0 }
      : gold.total > 0
        ? { value: gold.correct / gold.total, source: 'gold', decisions: gold.total }
        : { value: ASSUMED_REVIEWER_ACCURACY, source: 'assumed', decisions: 0 };
  const timing = await measureSecondsPerDecision(db, catalogueId);
  const secondsPerDecision: MeasuredFigure =
    timing.seconds !== null
      ? { value: timing.seconds, source: 'reviews', decisions: timing.decisions }
      : { value: ASSUMED_SECONDS_PER_DECISION, source: 'assumed', decisions: 0 };

  const holdout = model
    ? await readHoldoutPredictions(db, { catalogueId, modelVersionId: model.id })
    : { rows: [], missing: 0 };
  const routable = model ? await readRoutableItems(db, { catalogueId, modelVersionId: model.id }) : [];
  const points = model
    ? projectPoints({
        holdout: holdout.rows,
        routable,
        rules,
        thresholds: projectionThresholds(rules.threshold),
        reviewerAccuracy: reviewerAccuracy.value,
        secondsPerDecision: secondsPerDecision.value,
      })
    : [];
  const current = points.find((point) => point.threshold === rules.threshold) ?? null;

  const audit = model
    ? await measureAuditAccuracy(db, { catalogueId, modelVersionId: model.id })
    : { correct: 0, total: 0 };
  const interval = wilsonInterval(audit.correct, audit.total);
  const projected = current?.holdout.autoAccuracy ?? null;
  const observed: ObservedAudit | null = interval
    ? {
        interval,
        projected,
        outside: projected === null ? null : projected < interval.low || projected > interval.high,
      }
    : null;

  const unavailable = !model
    ? 'This catalogue has no active model yet.'
    : holdout.rows.length === 0
      ? holdout.missing > 0
        ? `The active model has no stored predictions on the ${holdout.missing.toLocaleString('en')} holdout items yet: the worker's evaluate job computes them.`
        : 'This catalogue has no holdout items (import some with --holdout): a projection needs held-out items with trusted labels.'
      : null;
  const reviewerWords =
    reviewerAccuracy.source === 'gold'
      ? `reviewer accuracy ${percent(reviewerAccuracy.value)} measured on ${gold.total.toLocaleString('en')} gold-item decisions`
      : reviewerAccuracy.source === 'given'
        ? `reviewer accuracy ${percent(reviewerAccuracy.value)} as given`
        : `reviewer accuracy assumed at ${percent(reviewerAccuracy.value)} (no gold-item decisions yet)`;
  return {
    catalogueId,
    model: model ? { id: model.id, name: model.name } : null,
    rules,
    holdout: { items: holdout.rows.length, missing: holdout.missing },
    reviewerAccuracy,
    secondsPerDecision,
    points,
    current,
    observed,
    comparison: compare(observed),
    sources: {
      reviewShare: `holdout: the active model's stored predictions on ${holdout.rows.length.toLocaleString('en')} held-out items, plus the audit rate's expected share of the rest`,
      autoAccuracy: 'holdout: correct predictions among held-out items at or above their threshold',
      catalogueAccuracy: `holdout for the shipped share, ${reviewerWords} for the reviewed share`,
      queue:
        'the catalogue: its model-labelled items scored by the active model, routed by the same rule as a save (items a reviewer holds when saving stay put)',
      reviewerHours:
        secondsPerDecision.source === 'reviews'
          ? `items to review x the median ${secondsPerDecision.value.toFixed(1)} s per decision over the latest ${timing.decisions.toLocaleString('en')} reviews`
          : `items to review x an assumed ${secondsPerDecision.value} s per decision (no reviews yet)`,
      observed:
        "the audit sample: reviewers' decisions on randomly chosen would-be-auto-accepted items of the active model",
    },
    unavailable,
  };
}
