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
import { accuracyAxis, roundTicks } from '@/lib/dashboards/axis-ticks';
import { previewThresholdAction, setThresholdAction } from './actions';
import { describeMoves, useGuardedSave } from './use-guarded-save';

/** One threshold's figures, as plain numbers for the client (see lib/routing/projection-figures). */
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

/** Each line's colour; its axis title and ticks share it, so which axis a line reads against shows. */
const SHARE = '#b45309';
const AUTO = '#1d4ed8';
const CATALOGUE = '#047857';
const AXIS_TEXT = { fill: 'currentColor', fontSize: 11 };

function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(digits)}%`;
}

function hours(value: number): string {
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en');
}

/** The exact figures at the threshold under the pointer; a click there proposes it. */
function PointTooltip({ active, payload }: { active?: boolean; payload?: readonly { payload?: unknown }[] }) {
  const point = payload?.[0]?.payload as ChartPoint | undefined;
  if (!active || !point) return null;
  return (
    <div
      className="rounded border border-gray-300 bg-white px-2 py-1 text-xs text-gray-900 shadow"
      data-testid="projection-tooltip"
    >
      <p className="font-medium">threshold {point.threshold}</p>
      <p style={{ color: SHARE }}>
        share to review: {pct(point.reviewShare, 2)} ({point.toReview.toLocaleString('en')} items)
      </p>
      <p style={{ color: AUTO }}>auto-accepted accuracy: {pct(point.autoAccuracy, 2)}</p>
      <p style={{ color: CATALOGUE }}>catalogue accuracy: {pct(point.catalogueAccuracy, 2)}</p>
      <p className="text-gray-500">click to propose it</p>
    </div>
  );
}

/**
 * The projection against the threshold: review share (left axis, amber) and the two expected
 * accuracies (right axis, zoomed to where they live), the current setting and a proposal
 * marked. A click on the chart, the slider or the box moves the proposal; it shows what saving
 * it would do to the queue, and "Save this threshold" saves it through the threshold form's
 * action, with the same stale check (the threshold this page showed) and the same warning
 * before a save that moves many items.
 */
export function ProjectionChart({
  catalogueId,
  points,
  current,
  holdoutItems,
}: {
  catalogueId: number;
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
  const save = useGuardedSave(setThresholdAction, previewThresholdAction, (preview) => ({
    title: `Move ${preview.moved.toLocaleString('en')} items?`,
    body: describeMoves(preview, `Saving threshold ${proposed}`),
  }));
  // A result about another threshold than the current one is old news: another form changed it since.
  const saved = save.state && (!save.state.ok || save.state.data.threshold === current) ? save.state : null;
  const proposal = points.find((p) => p.threshold === proposed) ?? null;
  const grid = points.map((p) => p.threshold);
  const xMin = grid[0] ?? 0.5;
  const xMax = grid.at(-1) ?? 0.99;
  const accuracy = accuracyAxis(points.flatMap((p) => [p.autoAccuracy, p.catalogueAccuracy]));
  const saveProposal = () => {
    const data = new FormData();
    data.set('catalogueId', String(catalogueId));
    data.set('threshold', String(proposed));
    data.set('expectedThreshold', String(current));
    void save.saveGuarded(data);
  };
  return (
    <div>
      <div className="h-80 w-full text-gray-700" data-testid="projection-chart">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart
            data={points}
            margin={{ top: 8, right: 8, bottom: 24, left: 8 }}
            onClick={(state) => {
              // The point under the pointer: by its index when the chart gives one, else by its label.
              const index = Number(state?.activeTooltipIndex ?? state?.activeIndex);
              const value = Number.isInteger(index) ? points[index]?.threshold : Number(state?.activeLabel);
              const onGrid = grid.find((t) => value !== undefined && Math.abs(t - value) < 1e-9);
              if (onGrid !== undefined) setProposed(onGrid);
            }}
            className="cursor-crosshair"
          >
            <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.15} />
            <XAxis
              dataKey="threshold"
              type="number"
              domain={[xMin, xMax]}
              ticks={roundTicks(xMin, xMax, 11)}
              tickFormatter={(v: number) => v.toFixed(2)}
              tick={AXIS_TEXT}
              label={{
                value: 'threshold (calibrated confidence, 0–1)',
                position: 'insideBottom',
                offset: -16,
                fill: 'currentColor',
                fontSize: 12,
              }}
            />
            <YAxis
              yAxisId="share"
              domain={[0, 1]}
              ticks={roundTicks(0, 1, 6)}
              tickFormatter={(v: number) => pct(v, 0)}
              tick={{ ...AXIS_TEXT, fill: SHARE }}
              stroke={SHARE}
              width={56}
              label={{
                value: 'share to review (%)',
                angle: -90,
                position: 'insideLeft',
                fill: SHARE,
                fontSize: 12,
                textAnchor: 'middle',
              }}
            />
            <YAxis
              yAxisId="accuracy"
              orientation="right"
              domain={accuracy.domain}
              ticks={accuracy.ticks}
              tickFormatter={(v: number) => pct(v, accuracy.ticks.some((t) => Math.round(t * 1000) % 10 !== 0) ? 1 : 0)}
              tick={{ ...AXIS_TEXT, fill: AUTO }}
              stroke={AUTO}
              width={56}
              label={{
                value: 'accuracy (%)',
                angle: 90,
                position: 'insideRight',
                fill: AUTO,
                fontSize: 12,
                textAnchor: 'middle',
              }}
            />
            <Tooltip content={PointTooltip} />
            <Legend verticalAlign="top" height={36} wrapperStyle={{ fontSize: 12 }} />
            <Line
              yAxisId="share"
              dataKey="reviewShare"
              name="share to review (left axis)"
              stroke={SHARE}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
            />
            <Line
              yAxisId="accuracy"
              dataKey="autoAccuracy"
              name="auto-accepted accuracy, holdout (right axis)"
              stroke={AUTO}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
              connectNulls={false}
            />
            <Line
              yAxisId="accuracy"
              dataKey="catalogueAccuracy"
              name="catalogue accuracy, expected (right axis)"
              stroke={CATALOGUE}
              strokeWidth={2}
              strokeDasharray="6 3"
              dot={false}
              isAnimationActive={false}
            />
            <ReferenceLine
              yAxisId="share"
              x={current}
              stroke="currentColor"
              strokeDasharray="4 2"
              label={{ value: `current ${current}`, position: 'insideTopLeft', fontSize: 11, fill: 'currentColor' }}
            />
            {proposed !== current && (
              <ReferenceLine
                yAxisId="share"
                x={proposed}
                stroke="#7c3aed"
                strokeWidth={2}
                label={{ value: `proposed ${proposed}`, position: 'insideTopRight', fontSize: 11, fill: '#7c3aed' }}
              />
            )}
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="mt-2 flex flex-wrap items-center gap-3 text-sm">
        <label className="flex flex-wrap items-center gap-2">
          Proposed threshold
          <input
            type="range"
            aria-label="Proposed threshold"
            min={0}
            max={grid.length - 1}
            step={1}
            value={Math.max(0, grid.indexOf(proposed))}
            onChange={(event) => setProposed(grid[Number(event.target.value)] ?? current)}
            className="w-56 max-w-full"
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
          <>
            <button
              type="button"
              onClick={saveProposal}
              disabled={save.pending}
              className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
              data-testid="projection-save"
            >
              {save.pending ? 'Saving…' : `Save ${proposed} as the threshold`}
            </button>
            <button type="button" onClick={() => setProposed(current)} className="text-gray-600 underline">
              back to current
            </button>
          </>
        )}
      </div>
      {save.dialog}
      {save.declined && (
        <p role="status" className="mt-1 text-sm text-gray-700" data-testid="projection-save-declined">
          Not saved: the threshold stays {current}.
        </p>
      )}
      {saved &&
        !save.declined &&
        (saved.ok ? (
          <p role="status" className="mt-1 text-sm text-green-800" data-testid="projection-save-result">
            Threshold {saved.data.oldThreshold} → {saved.data.threshold}: {saved.data.entered.toLocaleString('en')}{' '}
            entered the review queue, {saved.data.left.toLocaleString('en')} left it.
          </p>
        ) : (
          <p role="alert" className="mt-1 text-sm text-red-700" data-testid="projection-save-error">
            {saved.message}
          </p>
        ))}
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
          {hours(Math.abs(proposal.extraReviewerHours))} against today).
          {proposed !== current && ' Save it with the button above, or click another point on the chart.'}
        </p>
      )}
    </div>
  );
}
