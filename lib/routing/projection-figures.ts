import { routeByConfidence } from '@/lib/routing/route-by-confidence';
import { routeItem, thresholdFor, type RoutingRules } from '@/lib/routing/rules';

/**
 * The arithmetic of the threshold projection, apart from the database so it can be checked
 * on hand-made numbers. Every figure is for a catalogue's rules with the global threshold
 * replaced by the one projected: per-class overrides and the audit rate are kept, as they
 * are when an admin changes only the global threshold.
 */

/** Thresholds the projection and target mode consider: 0.50, 0.51, ..., 0.99. */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 50 }, (_, i) => (50 + i) / 100);

/** A holdout item: the active model's stored prediction and the trusted label. */
export interface HoldoutPrediction {
  predictedClass: number;
  confidence: number;
  label: number;
}

/** A catalogue item the threshold decides (model label, no evaluation role) and where it is now. */
export interface RoutableItem {
  itemId: number;
  predictedClass: number;
  confidence: number;
  status: 'auto_accepted' | 'needs_review';
}

export interface HoldoutFigures {
  items: number;
  /** Items at or above their class's threshold. */
  aboveThreshold: number;
  /** Of those, how many the model got right. */
  correctAboveThreshold: number;
  /** Expected share sent to review: under the threshold, plus the audit sample of the rest. */
  reviewShare: number | null;
  /** Accuracy of auto-accepted items: correct / at or above the threshold; null when none are. */
  autoAccuracy: number | null;
  /** Shipped share x auto-accepted accuracy + review share x reviewer accuracy. */
  catalogueAccuracy: number | null;
}

export interface CatalogueFigures {
  /** Items this threshold decides (model-labelled, scored by the active model). */
  routable: number;
  /** Of those, how many would wait for review (audit sample included). */
  toReview: number;
  /** Auto-accepted today, in the queue under these rules. */
  entered: number;
  /** In the queue today, auto-accepted under these rules. */
  left: number;
  /** toReview x the median seconds per decision, in hours. */
  reviewerHours: number;
  /** (entered - left) x the median seconds per decision, in hours: the change against today. */
  extraReviewerHours: number;
}

export interface ProjectionPoint {
  threshold: number;
  holdout: HoldoutFigures;
  catalogue: CatalogueFigures;
}

export function withThreshold(rules: RoutingRules, threshold: number): RoutingRules {
  return { ...rules, threshold };
}

export function holdoutFigures(
  rows: readonly HoldoutPrediction[],
  rules: RoutingRules,
  reviewerAccuracy: number,
): HoldoutFigures {
  let above = 0;
  let correct = 0;
  for (const row of rows) {
    if (routeByConfidence(row.confidence, thresholdFor(row.predictedClass, rules)) === 'auto_accepted') {
      above++;
      if (row.predictedClass === row.label) correct++;
    }
  }
  const n = rows.length;
  if (n === 0)
    return {
      items: 0,
      aboveThreshold: 0,
      correctAboveThreshold: 0,
      reviewShare: null,
      autoAccuracy: null,
      catalogueAccuracy: null,
    };
  // The audit sample is a random share of would-be-auto-accepted items: in expectation
  // auditRate of them are reviewed rather than shipped.
  const shipped = (above / n) * (1 - rules.auditRate);
  const autoAccuracy = above === 0 ? null : correct / above;
  return {
    items: n,
    aboveThreshold: above,
    correctAboveThreshold: correct,
    reviewShare: 1 - shipped,
    autoAccuracy,
    catalogueAccuracy: shipped * (autoAccuracy ?? 0) + (1 - shipped) * reviewerAccuracy,
  };
}

export function catalogueFigures(
  rows: readonly RoutableItem[],
  rules: RoutingRules,
  secondsPerDecision: number,
): CatalogueFigures {
  let toReview = 0;
  let entered = 0;
  let left = 0;
  for (const row of rows) {
    // The same rule scoring and re-routing apply, audit draw included, so the counts are the
    // ones a save would produce (items a reviewer holds at that moment stay put).
    const { status } = routeItem(row, rules);
    if (status === 'needs_review') toReview++;
    if (status !== row.status) {
      if (status === 'needs_review') entered++;
      else left++;
    }
  }
  return {
    routable: rows.length,
    toReview,
    entered,
    left,
    reviewerHours: (toReview * secondsPerDecision) / 3600,
    extraReviewerHours: ((entered - left) * secondsPerDecision) / 3600,
  };
}

/** The grid plus the current threshold, ascending, without duplicates. */
export function projectionThresholds(current: number): number[] {
  return [...new Set([...THRESHOLD_GRID, current])].sort((a, b) => a - b);
}

export function projectPoints(input: {
  holdout: readonly HoldoutPrediction[];
  routable: readonly RoutableItem[];
  rules: RoutingRules;
  thresholds: readonly number[];
  reviewerAccuracy: number;
  secondsPerDecision: number;
}): ProjectionPoint[] {
  return input.thresholds.map((threshold) => {
    const rules = withThreshold(input.rules, threshold);
    return {
      threshold,
      holdout: holdoutFigures(input.holdout, rules, input.reviewerAccuracy),
      catalogue: catalogueFigures(input.routable, rules, input.secondsPerDecision),
    };
  });
}

/**
 * Target mode's rule: the lowest threshold of the grid whose accuracy of auto-accepted holdout
 * items reaches the target. Accuracy is not monotone in the threshold (raising it can drop a
 * correct item before a wrong one), so this is a scan from the bottom, not a bisection, and a
 * higher threshold may miss the target again. Null when no grid threshold reaches it.
 */
export function lowestThresholdMeeting(
  points: readonly Pick<ProjectionPoint, 'threshold' | 'holdout'>[],
  targetAccuracy: number,
): Pick<ProjectionPoint, 'threshold' | 'holdout'> | null {
  const ascending = [...points].sort((a, b) => a.threshold - b.threshold);
  for (const point of ascending) {
    const { aboveThreshold, correctAboveThreshold } = point.holdout;
    // Counts rather than the rounded ratio: 99 of 100 meets a 0.99 target exactly.
    if (aboveThreshold > 0 && correctAboveThreshold >= targetAccuracy * aboveThreshold - 1e-9) return point;
  }
  return null;
}
