/**
 * The result of evaluating one model on one labelled set, and its plain-text rendering.
 * The same object is what `npm run evaluate -- --json` prints.
 */
import type { Evaluation } from '@/lib/ml/metrics';

export type ModelSummary = {
  dir: string;
  arch: string;
  params: number;
  temperature: number;
  classNames: string[];
};

export type ModelEvaluation = Evaluation & {
  model: ModelSummary;
  /** Where the evaluation items came from, e.g. `idx:/path (t10k)`. */
  source: string;
  backend: string;
  /** What computed the logits: 'onnx' (ONNX Runtime) or 'tfjs'. */
  scorer: string;
  /** ONNX Runtime's precision, 'fp32' or 'int8' (lib/ml/onnx/precision.ts); null with tfjs. */
  precision: string | null;
  imagesPerSecond: number;
  /** Temperature the calibrated figures use; also in `model`, repeated for scripts. */
  temperature: number;
  /** ECE of softmax(logits) before temperature scaling; `ece` is after it. */
  eceUncalibrated: number;
  /** Accuracy on a copy of the set with every image shifted at random (lib/ml/shifted-images.ts). */
  robustness: { maxShift: number; seed: number; shiftedAccuracy: number; drop: number };
};

const HEADER_WIDTH = 7;

const indent = (lines: string[]) => lines.map((line) => (line ? `  ${line}` : ''));

const pct = (value: number) => `${(value * 100).toFixed(2)}%`;
const fixed = (value: number) => value.toFixed(4);

function formatTable(rows: string[][], alignLeft: ReadonlySet<number> = new Set([0])): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (alignLeft.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Short column headers for the confusion matrix: names are cut to `maxLength`; when two
 * cuts collide (`Sneaker`/`Sneakers`) both fall back to their class index, which the row
 * labels also show, so a header always identifies one class.
 */
export function abbreviateClassNames(classNames: readonly string[], maxLength = HEADER_WIDTH - 1): string[] {
  const cut = classNames.map((name) => name.slice(0, maxLength).trim() || '?');
  const seen = new Map<string, number>();
  for (const short of cut) seen.set(short, (seen.get(short) ?? 0) + 1);
  return cut.map((short, i) => ((seen.get(short) ?? 0) > 1 ? `#${i}` : short));
}

function formatClassReport(report: ModelEvaluation): string[] {
  const rows = [['class', 'precision', 'recall', 'f1', 'support']];
  for (const m of report.perClass)
    rows.push([m.class, fixed(m.precision), fixed(m.recall), fixed(m.f1), String(m.support)]);
  rows.push(['', '', '', '', '']);
  rows.push(['accuracy', '', '', fixed(report.accuracy), String(report.n)]);
  const avg = report.macroAvg;
  rows.push(['macro avg', fixed(avg.precision), fixed(avg.recall), fixed(avg.f1), String(avg.support)]);
  return formatTable(rows);
}

function formatConfusion(report: ModelEvaluation): string[] {
  const headers = abbreviateClassNames(report.model.classNames);
  const rows = [['true \\ predicted', ...headers]];
  report.confusion.forEach((counts, c) => {
    rows.push([`${c} ${report.model.classNames[c] ?? ''}`.trimEnd(), ...counts.map(String)]);
  });
  return formatTable(rows);
}

function formatRiskCoverage(report: ModelEvaluation): string[] {
  const rows = [['threshold', 'coverage', 'accuracy', 'to review']];
  for (const point of report.riskCoverage) {
    rows.push([
      point.threshold.toFixed(2),
      pct(point.coverage),
      point.accuracy === null ? '-' : pct(point.accuracy),
      String(Math.round((1 - point.coverage) * report.n)),
    ]);
  }
  return formatTable(rows, new Set());
}

function formatCoverageAtError(report: ModelEvaluation): string[] {
  const rows = [['max error', 'threshold', 'coverage', 'error', 'to review']];
  for (const point of report.coverageAtError) {
    rows.push([
      pct(point.maxError),
      point.threshold === null ? '-' : point.threshold.toFixed(4),
      pct(point.coverage),
      point.error === null ? '-' : pct(point.error),
      String(Math.round((1 - point.coverage) * report.n)),
    ]);
  }
  return formatTable(rows, new Set());
}

/** Human-readable evaluation report: model, accuracy, per-class table, confusion, calibration. */
export function formatEvaluationReport(report: ModelEvaluation): string {
  const { model } = report;
  const lines = [
    'Model',
    `  dir           ${model.dir}`,
    `  architecture  ${model.arch}`,
    `  parameters    ${model.params.toLocaleString('en-US')}`,
    `  temperature   ${model.temperature.toFixed(4)}`,
    `  backend       ${report.backend}`,
    `  scorer        ${report.scorer}${report.precision ? ` (${report.precision})` : ''}`,
    `  throughput    ${Math.round(report.imagesPerSecond).toLocaleString('en-US')} images/s`,
    '',
    `Data: ${report.source}, ${report.n.toLocaleString('en-US')} items`,
    `Accuracy: ${pct(report.accuracy)}   macro F1: ${fixed(report.macroF1)}`,
    '',
    'Classification report',
    ...indent(formatClassReport(report)),
    '',
    'Confusion matrix (rows = true class, columns = predicted)',
    ...indent(formatConfusion(report)),
    '',
    'Calibration (expected calibration error, 15 bins)',
    ...indent(
      formatTable([
        ['before temperature scaling (T = 1)', fixed(report.eceUncalibrated)],
        [`after temperature scaling (T = ${model.temperature.toFixed(3)})`, fixed(report.ece)],
      ]),
    ),
    '',
    'Risk-coverage (calibrated confidence >= threshold is auto-accepted)',
    ...indent(formatRiskCoverage(report)),
    '',
    'Coverage at error (the most one threshold auto-accepts with at most this error)',
    ...indent(formatCoverageAtError(report)),
    '',
    `Robustness: every image shifted at random by up to ${report.robustness.maxShift} px (seed ${report.robustness.seed})`,
    `  accuracy ${pct(report.robustness.shiftedAccuracy)}, ${(report.robustness.drop * 100).toFixed(2)} points below the unshifted ${pct(report.accuracy)}`,
  ];
  return `${lines.join('\n')}\n`;
}
