import type { ExportRow } from '@/lib/catalogue/export';

/** What the simulator reads of each item: the export's fields it measures. */
export type SimItemRow = Pick<
  ExportRow,
  'itemId' | 'currentLabel' | 'status' | 'evalRole' | 'predictedClass' | 'labelSource'
>;

/** One point of the simulation's timeline, measured against the ground truth the app never saw. */
export interface CatalogueMeasure {
  /** Catalogue items (evaluation items left out) whose true label the simulator knows. */
  items: number;
  /** Items with a label (model, human or import) that is right, over all items: an unlabelled item counts as wrong. */
  catalogueAccuracy: number | null;
  labelled: number;
  reviewed: number;
  reviewedShare: number | null;
  autoAccepted: number;
  /** Accuracy of the labels of auto-accepted items (the model's answer, unreviewed). */
  autoAcceptedAccuracy: number | null;
  queueDepth: number;
  unscored: number;
  /** The active model's answer on every scored item, right or not: the model alone, now. */
  modelAccuracy: number | null;
  /** Human-labelled items whose label is wrong: reviewer errors that reached the catalogue. */
  wrongHumanLabels: number;
}

export function measureCatalogue(
  rows: readonly SimItemRow[],
  truthOf: (itemId: number) => number | undefined,
): CatalogueMeasure {
  let items = 0;
  let labelled = 0;
  let correct = 0;
  let reviewed = 0;
  let autoAccepted = 0;
  let autoCorrect = 0;
  let queueDepth = 0;
  let unscored = 0;
  let predicted = 0;
  let predictedCorrect = 0;
  let wrongHumanLabels = 0;
  for (const row of rows) {
    if (row.evalRole !== null) continue;
    const truth = truthOf(row.itemId);
    if (truth === undefined) continue;
    items++;
    if (row.currentLabel !== null) {
      labelled++;
      if (row.currentLabel === truth) correct++;
      else if (row.labelSource === 'human') wrongHumanLabels++;
    }
    if (row.status === 'reviewed') reviewed++;
    if (row.status === 'needs_review') queueDepth++;
    if (row.status === 'unscored') unscored++;
    if (row.status === 'auto_accepted') {
      autoAccepted++;
      if (row.currentLabel === truth) autoCorrect++;
    }
    if (row.predictedClass !== null) {
      predicted++;
      if (row.predictedClass === truth) predictedCorrect++;
    }
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    items,
    catalogueAccuracy: ratio(correct, items),
    labelled,
    reviewed,
    reviewedShare: ratio(reviewed, items),
    autoAccepted,
    autoAcceptedAccuracy: ratio(autoCorrect, autoAccepted),
    queueDepth,
    unscored,
    modelAccuracy: ratio(predictedCorrect, predicted),
    wrongHumanLabels,
  };
}

/**
 * A simulated reviewer's answer: the true label, except with probability `errorRate` a
 * uniformly chosen other class (the kind of slip a crowd worker makes).
 */
export function simulatedAnswer(truth: number, classCount: number, errorRate: number, random: () => number): number {
  if (random() >= errorRate) return truth;
  const other = Math.floor(random() * (classCount - 1));
  return other >= truth ? other + 1 : other;
}

/** Nearest-rank percentile of a list of numbers (p in 0-100); null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
