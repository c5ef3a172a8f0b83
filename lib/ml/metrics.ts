/**
 * Classification metrics on plain arrays: probabilities are `n x k` row-major, labels are
 * class indices. No tf here, so the CLI, the promotion gate and the dashboards can share them.
 */
import { badInput } from '@/lib/errors';

export type ClassMetrics = { class: string; precision: number; recall: number; f1: number; support: number };
export type AverageMetrics = { precision: number; recall: number; f1: number; support: number };
export type ReliabilityBin = {
  binLower: number;
  binUpper: number;
  count: number;
  /** Mean confidence and accuracy in the bin; null when the bin is empty. */
  confidence: number | null;
  accuracy: number | null;
};
export type RiskCoveragePoint = { threshold: number; coverage: number; accuracy: number | null };
/**
 * The most one confidence threshold can auto-accept with at most `maxError` error among what it
 * accepts. `threshold` is the lowest calibrated confidence accepted (null when no threshold
 * accepts anything that accurately), `error` the error among the accepted items.
 */
export type CoverageAtError = { maxError: number; threshold: number | null; coverage: number; error: number | null };

export type Evaluation = {
  n: number;
  accuracy: number;
  perClass: ClassMetrics[];
  macroF1: number;
  macroAvg: AverageMetrics;
  confusion: number[][];
  ece: number;
  reliability: ReliabilityBin[];
  riskCoverage: RiskCoveragePoint[];
  coverageAtError: CoverageAtError[];
};

type Predictions = { probs: Float32Array; labels: ArrayLike<number>; k: number };

export const ECE_BINS = 15;
/** The error budgets `npm run evaluate` reports coverage for (issue 18: 85% at 1% is the goal). */
export const COVERAGE_ERROR_BUDGETS = [0.005, 0.01, 0.02] as const;
export const RISK_COVERAGE_THRESHOLDS = [
  0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99,
] as const;

/** Index of the largest value in row `row`; the first one wins ties, as numpy's argmax. */
function argmaxRow(probs: Float32Array, row: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (probs[row * k + j]! > probs[row * k + best]!) best = j;
  return best;
}

/** Predicted class and confidence (the max probability) of every row. */
export function summarizePredictions({ probs, labels, k }: Predictions): {
  predicted: Int32Array;
  confidence: Float32Array;
} {
  assertShape({ probs, labels, k });
  const n = labels.length;
  const predicted = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    predicted[i] = argmaxRow(probs, i, k);
    confidence[i] = probs[i * k + predicted[i]!]!;
  }
  return { predicted, confidence };
}

function assertShape({ probs, labels, k }: Predictions): void {
  if (!Number.isInteger(k) || k < 1) throw badInput(`Need at least one class, got k=${k}.`);
  if (labels.length === 0) throw badInput('Cannot evaluate on zero items.');
  if (probs.length !== labels.length * k) {
    throw badInput(`Expected ${labels.length} x ${k} probabilities, got ${probs.length} values.`);
  }
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= k) {
      throw badInput(`Label ${label} at item ${i} is outside the ${k} classes (0-${k - 1}).`);
    }
  }
}

/** Counts with rows = true class and columns = predicted class. */
export function confusionMatrix({ probs, labels, k }: Predictions): number[][] {
  const { predicted } = summarizePredictions({ probs, labels, k });
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < labels.length; i++) matrix[labels[i]!]![predicted[i]!]! += 1;
  return matrix;
}

/**
 * Per-class precision, recall, F1 and support from a confusion matrix. As sklearn's
 * `zero_division=0`: precision is 0 for a class never predicted, recall 0 for a class with
 * no true items, F1 0 when both are 0. The macro average, again as sklearn by default, is
 * over classes that occur in the labels or the predictions, so a class absent from the
 * evaluation set and never predicted does not drag it down.
 */
export function classificationReport({
  confusion,
  classNames,
}: {
  confusion: number[][];
  classNames: readonly string[];
}): {
  perClass: ClassMetrics[];
  macroAvg: AverageMetrics;
} {
  const k = classNames.length;
  const perClass: ClassMetrics[] = [];
  const present: ClassMetrics[] = [];
  let total = 0;
  for (let c = 0; c < k; c++) {
    const tp = confusion[c]?.[c] ?? 0;
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c]?.[j] ?? 0;
      predicted += confusion[j]?.[c] ?? 0;
    }
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    const metrics = { class: classNames[c]!, precision, recall, f1, support };
    perClass.push(metrics);
    if (support > 0 || predicted > 0) present.push(metrics);
    total += support;
  }
  const mean = (pick: (m: ClassMetrics) => number) =>
    present.length === 0 ? 0 : present.reduce((sum, m) => sum + pick(m), 0) / present.length;
  return {
    perClass,
    macroAvg: {
      precision: mean((m) => m.precision),
      recall: mean((m) => m.recall),
      f1: mean((m) => m.f1),
      support: total,
    },
  };
}

/**
 * Expected calibration error (Guo et al., 2017): items are binned by confidence into
 * `bins` equal-width bins (lower, upper], and ECE is the count-weighted mean of
 * |accuracy - mean confidence| over the bins.
 */
export function expectedCalibrationError({ probs, labels, k, bins = ECE_BINS }: Predictions & { bins?: number }): {
  ece: number;
  reliability: ReliabilityBin[];
} {
  const { predicted, confidence } = summarizePredictions({ probs, labels, k });
  const counts = new Array<number>(bins).fill(0);
  const confidenceSums = new Array<number>(bins).fill(0);
  const correctCounts = new Array<number>(bins).fill(0);
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const conf = confidence[i]!;
    // Bins are (lower, upper]; a confidence of exactly 0 (impossible for a max) joins bin 0.
    const bin = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    counts[bin]! += 1;
    confidenceSums[bin]! += conf;
    if (predicted[i] === labels[i]) correctCounts[bin]! += 1;
  }
  let ece = 0;
  const reliability: ReliabilityBin[] = counts.map((count, b) => {
    const meanConfidence = count === 0 ? null : confidenceSums[b]! / count;
    const accuracy = count === 0 ? null : correctCounts[b]! / count;
    if (meanConfidence !== null && accuracy !== null) ece += (count / n) * Math.abs(accuracy - meanConfidence);
    return { binLower: b / bins, binUpper: (b + 1) / bins, count, confidence: meanConfidence, accuracy };
  });
  return { ece, reliability };
}

/**
 * What auto-accepting items with confidence >= threshold would cover and how accurate the
 * covered items are. Confidences are float32, so each threshold is rounded to float32
 * before comparing: otherwise a probability stored as 0.9 (0.8999999762 in float32) would
 * fall below the threshold 0.9.
 */
export function riskCoverage({
  probs,
  labels,
  k,
  thresholds = RISK_COVERAGE_THRESHOLDS,
}: Predictions & { thresholds?: readonly number[] }): RiskCoveragePoint[] {
  const { predicted, confidence } = summarizePredictions({ probs, labels, k });
  const n = labels.length;
  return thresholds.map((threshold) => {
    const cut = Math.fround(threshold);
    let covered = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      if (confidence[i]! < cut) continue;
      covered += 1;
      if (predicted[i] === labels[i]) correct += 1;
    }
    return { threshold, coverage: covered / n, accuracy: covered === 0 ? null : correct / covered };
  });
}

/**
 * For each error budget, the largest share of items that one threshold on the confidence
 * auto-accepts (every item with confidence >= threshold) with at most that share of errors
 * among them. Every distinct confidence is a candidate threshold, not only a grid; items with
 * the same confidence are accepted or refused together, since one threshold cannot split them.
 * Error is not monotone in the threshold, so the search keeps the best point over the whole
 * sweep rather than stopping at the first one over budget.
 */
export function coverageAtError({
  probs,
  labels,
  k,
  budgets = COVERAGE_ERROR_BUDGETS,
}: Predictions & { budgets?: readonly number[] }): CoverageAtError[] {
  const { predicted, confidence } = summarizePredictions({ probs, labels, k });
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => confidence[b]! - confidence[a]!);
  const best = budgets.map((maxError) => ({ maxError, threshold: null as number | null, covered: 0, errors: 0 }));
  let errors = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r]!;
    if (predicted[i] !== labels[i]) errors++;
    const next = order[r + 1];
    if (next !== undefined && confidence[next] === confidence[i]) continue;
    const covered = r + 1;
    for (const b of best) {
      // Counts, not a division: 1 error in 200 is exactly 0.5%, and must count as within it.
      if (errors <= b.maxError * covered + 1e-9 && covered > b.covered) {
        b.threshold = confidence[i]!;
        b.covered = covered;
        b.errors = errors;
      }
    }
  }
  return best.map((b) => ({
    maxError: b.maxError,
    threshold: b.threshold,
    coverage: b.covered / n,
    error: b.covered === 0 ? null : b.errors / b.covered,
  }));
}

/** Every figure the evaluation report shows, from one set of probabilities. */
export function computeEvaluation({
  probs,
  labels,
  classNames,
}: {
  probs: Float32Array;
  labels: ArrayLike<number>;
  classNames: readonly string[];
}): Evaluation {
  const k = classNames.length;
  const confusion = confusionMatrix({ probs, labels, k });
  let correct = 0;
  for (let c = 0; c < k; c++) correct += confusion[c]![c]!;
  const { perClass, macroAvg } = classificationReport({ confusion, classNames });
  const { ece, reliability } = expectedCalibrationError({ probs, labels, k });
  return {
    n: labels.length,
    accuracy: correct / labels.length,
    perClass,
    macroF1: macroAvg.f1,
    macroAvg,
    confusion,
    ece,
    reliability,
    riskCoverage: riskCoverage({ probs, labels, k }),
    coverageAtError: coverageAtError({ probs, labels, k }),
  };
}
