'use client';

import { useState } from 'react';
import {
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

/** One threshold's figures, as plain numbers for the client (see lib/projection-figures). */
export interface ChartPoint {
  threshold: number;
  reviewShare: number | null;
  autoAccuracy: number | null;
  catalogueAccuracy: number | null;
  aboveThreshold: number;
  toReview: number;
  entered: number;
  left: number;
  reviewerHours: number;
  extraReviewerHours: number;
}

function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;
}

function hours(value: number): string {
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en');
}

/**
 * The projection against the threshold: review share (left axis) and the two expected
 * accuracies (right axis, zoomed to where they live), the current setting and a proposal
 * marked. Moving the proposal shows what saving it would do to the queue, before saving.
 */
export function ProjectionChart({
  points,
  current,
  holdoutItems,
}: {
  points: ChartPoint[];
  current: number;
  holdoutItems: number;
}) {
  const [proposed, setProposedValue] = useState(current);
  const [typed, setTyped] = useState(String(current));
  const setProposed = (threshold: number) => {
    setProposedValue(threshold);
    setTyped(String(threshold));
  };
  const proposal = points.find((p) => p.threshold === proposed) ?? null;
  const lowestAccuracy = Math.min(
    ...points.flatMap((p) => [p.autoAccuracy, p.catalogueAccuracy]).filter((v): v is number => v !== null),
  );
  const accuracyFloor = Number.isFinite(lowestAccuracy) ? Math.max(0, Math.floor(lowestAccuracy * 50) / 50) : 0;
  const data = points.map((p) => ({
    ...p,
    reviewPct: p.reviewShare,
    autoPct: p.autoAccuracy,
    cataloguePct: p.catalogueAccuracy,
  }));
  const grid = points.map((p) => p.threshold);
  return (
    <div>
      <div className="h-72 w-full" data-testid="projection-chart">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
            <XAxis
              dataKey="threshold"
              type="number"
              domain={[grid[0] ?? 0.5, grid.at(-1) ?? 0.99]}
              tickCount={11}
              label={{ value: 'threshold', position: 'insideBottom', offset: -4 }}
            />
            <YAxis yAxisId="share" domain={[0, 1]} tickFormatter={(v: number) => pct(v, 0)} width={48} />
            <YAxis
              yAxisId="accuracy"
              orientation="right"
              domain={[accuracyFloor, 1]}
              tickFormatter={(v: number) => pct(v, 0)}
              width={52}
            />
            <Tooltip
              formatter={(value) => pct(typeof value === 'number' ? value : null, 2)}
              labelFormatter={(label) => `threshold ${label}`}
            />
            <Legend />
            <Line
              yAxisId="share"
              dataKey="reviewPct"
              name="share to review"
              stroke="#b45309"
              dot={false}
              isAnimationActive={false}
            />
            <Line
              yAxisId="accuracy"
              dataKey="autoPct"
              name="auto-accepted accuracy (holdout)"
              stroke="#1d4ed8"
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
            <Line
              yAxisId="accuracy"
              dataKey="cataloguePct"
              name="catalogue accuracy (expected)"
              stroke="#047857"
              dot={false}
              isAnimationActive={false}
            />
            <ReferenceLine
              yAxisId="share"
              x={current}
              stroke="#111827"
              strokeDasharray="4 2"
              label={{ value: `current ${current}`, position: 'insideTopLeft', fontSize: 11 }}
            />
            {proposed !== current && (
              <ReferenceLine
                yAxisId="share"
                x={proposed}
                stroke="#7c3aed"
                label={{ value: `proposed ${proposed}`, position: 'insideTopRight', fontSize: 11 }}
              />
            )}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="mt-2 flex flex-wrap items-center gap-3 text-sm">
        <label className="flex items-center gap-2">
          Proposed threshold
          <input
            type="range"
            aria-label="Proposed threshold"
            min={0}
            max={grid.length - 1}
            step={1}
            value={Math.max(0, grid.indexOf(proposed))}
            onChange={(event) => setProposed(grid[Number(event.target.value)] ?? current)}
            className="w-64"
          />
        </label>
        <input
          aria-label="Proposed threshold value"
          data-testid="proposed-threshold"
          inputMode="decimal"
          value={typed}
          onChange={(event) => {
            setTyped(event.target.value);
            // Any value that lands on the grid (or is the current one) moves the proposal.
            const value = Number(event.target.value);
            const onGrid = grid.find((t) => Math.abs(t - value) < 1e-9);
            if (event.target.value.trim() !== '' && onGrid !== undefined) setProposedValue(onGrid);
          }}
          className="w-20 rounded border border-gray-300 px-2 py-0.5 tabular-nums"
        />
        {proposal === null || Math.abs(Number(typed) - proposed) > 1e-9 ? (
          <span className="text-gray-500">(0.50 to 0.99 in steps of 0.01)</span>
        ) : null}
        {proposed !== current && (
          <button type="button" onClick={() => setProposed(current)} className="text-gray-600 underline">
            back to current
          </button>
        )}
      </div>
      {proposal && (
        <p className="mt-1 text-sm text-gray-800" data-testid="proposal-summary">
          At {proposal.threshold}: {pct(proposal.reviewShare)} of items to review, auto-accepted accuracy{' '}
          {pct(proposal.autoAccuracy, 2)} ({proposal.aboveThreshold.toLocaleString('en')} of{' '}
          {holdoutItems.toLocaleString('en')} held-out items at or above it), catalogue accuracy{' '}
          {pct(proposal.catalogueAccuracy, 2)}. In this catalogue{' '}
          <span data-testid="proposal-entered">{proposal.entered.toLocaleString('en')}</span> items would enter the
          queue and <span data-testid="proposal-left">{proposal.left.toLocaleString('en')}</span> leave it:{' '}
          {proposal.toReview.toLocaleString('en')} to review, about{' '}
          <span data-testid="proposal-hours">{hours(proposal.reviewerHours)}</span> reviewer-hours (
          {proposal.extraReviewerHours >= 0 ? '+' : '−'}
          {hours(Math.abs(proposal.extraReviewerHours))} against today). Save it with the threshold form above.
        </p>
      )}
    </div>
  );
}
