/**
 * The comparison table's columns and cells as text, shared by `npm run compare` and the lab page
 * (no TensorFlow.js here: the web server imports it).
 */
import type { LabResult } from './run-architecture';

/** What a row needs: a fresh result or a stored lab_results row. */
export type ComparisonRow = Pick<
  LabResult,
  'accuracy' | 'macroF1' | 'ece' | 'params' | 'trainSeconds' | 'imagesPerSecond' | 'coverageAt1PctError'
> & { arch: string };

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The table's columns, in order; the page shows the same. */
export const COMPARISON_COLUMNS = [
  'arch',
  'accuracy',
  'macro F1',
  'ECE',
  'parameters',
  'train s',
  'score img/s',
  'coverage @1% err',
] as const;

/** One row's cells as text (shared by the command line and the page). */
export function comparisonCells(row: ComparisonRow): string[] {
  return [
    row.arch,
    pct(row.accuracy),
    row.macroF1.toFixed(4),
    pct(row.ece),
    row.params.toLocaleString('en-US'),
    row.trainSeconds.toFixed(1),
    Math.round(row.imagesPerSecond).toLocaleString('en-US'),
    pct(row.coverageAt1PctError),
  ];
}

/** The comparison as an aligned text table. */
export function formatComparisonTable(rows: ComparisonRow[]): string {
  const table = [[...COMPARISON_COLUMNS], ...rows.map(comparisonCells)];
  const widths = COMPARISON_COLUMNS.map((_, i) => Math.max(...table.map((cells) => cells[i]!.length)));
  return table
    .map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '))
    .join('\n');
}
