'use client';

import {
  Bar,
  BarChart,
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
import { accuracyAxis, countAxis, roundTicks } from '@/lib/dashboards/axis-ticks';
import type { Cell } from '@/lib/dashboards/common';

export type ChartRows = Record<string, Cell>[];

const HEIGHT = 260;
const BLUE = '#2563eb';
const ORANGE = '#ea580c';
const AXIS_TEXT = { fill: 'currentColor', fontSize: 11 };
const GRID = { strokeDasharray: '3 3', stroke: 'currentColor', strokeOpacity: 0.15 };
const pct = (value: unknown, digits = 1) => (typeof value === 'number' ? `${(value * 100).toFixed(digits)}%` : '—');
/** Tooltips give the exact figure: two decimals of a percentage. */
const exactPct = (value: unknown) => pct(value, 2);
const exactNumber = (value: unknown) =>
  typeof value === 'number' ? value.toLocaleString('en', { maximumFractionDigits: 2 }) : '—';
/** Tick labels drop the decimals when every tick is a whole percentage. */
const tickPct = (ticks: number[]) => {
  const whole = ticks.every((t) => Math.abs(t * 100 - Math.round(t * 100)) < 1e-6);
  return (value: number) => pct(value, whole ? 0 : 1);
};
const PERCENT_TICKS = roundTicks(0, 1, 6);
/** Hours and days are UTC on the server: the axes say so, and tooltips give the full hour. */
const hourLabel = (value: unknown) => (typeof value === 'string' ? value.slice(11, 16) : '');
const hourRange = (value: unknown) => {
  const start = String(value);
  return `${start.slice(0, 10)} ${start.slice(11, 16)}–${String((Number(start.slice(11, 13)) + 1) % 24).padStart(2, '0')}:00 UTC`;
};

/** An axis title; `fill` matches the colour of the series read against that axis. */
function xTitle(value: string) {
  return { value, position: 'insideBottom' as const, offset: -12, fill: 'currentColor', fontSize: 12 };
}
function yTitle(value: string, options: { right?: boolean; fill?: string } = {}) {
  return {
    value,
    angle: options.right ? 90 : -90,
    position: options.right ? ('insideRight' as const) : ('insideLeft' as const),
    fill: options.fill ?? 'currentColor',
    fontSize: 12,
    style: { textAnchor: 'middle' as const },
  };
}
const MARGIN = { top: 4, right: 8, bottom: 20, left: 8 };

function numbersOf(rows: ChartRows, keys: string[]): number[] {
  return rows.flatMap((row) => keys.map((k) => row[k])).filter((v): v is number => typeof v === 'number');
}

/** Draws one dashboard figure from the rows the server computed (the same rows as its CSV). */
export function FigureChart({ id, rows, classNames }: { id: string; rows: ChartRows; classNames: string[] }) {
  switch (id) {
    case 'holdout-accuracy':
      return <AccuracyLine rows={rows} x="version" xLabel="model version (oldest first)" label="holdout accuracy" />;
    case 'audit-accuracy':
      return (
        <AccuracyLine
          rows={rows}
          x="day"
          xLabel="day of the audit decision (UTC)"
          label="accuracy of auto-accepted items"
        />
      );
    case 'queue-flow': {
      const counts = countAxis(Math.max(0, ...numbersOf(rows, ['in', 'out'])));
      return (
        <Frame>
          <BarChart data={rows} margin={MARGIN}>
            <CartesianGrid {...GRID} />
            <XAxis dataKey="hour" tickFormatter={hourLabel} tick={AXIS_TEXT} label={xTitle('hour starting (UTC)')} />
            <YAxis
              allowDecimals={false}
              domain={counts.domain}
              ticks={counts.ticks}
              tick={AXIS_TEXT}
              width={56}
              label={yTitle('items per hour')}
            />
            <Tooltip labelFormatter={hourRange} formatter={(v) => `${exactNumber(v)} items`} />
            <Legend verticalAlign="top" height={28} />
            <Bar dataKey="in" name="into the queue" fill={ORANGE} isAnimationActive={false} />
            <Bar dataKey="out" name="out of it (decisions)" fill={BLUE} isAnimationActive={false} />
          </BarChart>
        </Frame>
      );
    }
    case 'reviewer-throughput': {
      const rate = countAxis(Math.max(0, ...numbersOf(rows, ['decisionsPerHour'])));
      const median = countAxis(Math.max(0, ...numbersOf(rows, ['medianSeconds'])));
      return (
        <Frame>
          <BarChart data={rows} margin={MARGIN}>
            <CartesianGrid {...GRID} />
            <XAxis dataKey="reviewer" tick={AXIS_TEXT} label={xTitle('reviewer')} />
            <YAxis
              yAxisId="rate"
              domain={rate.domain}
              ticks={rate.ticks}
              tick={{ ...AXIS_TEXT, fill: BLUE }}
              stroke={BLUE}
              width={56}
              label={yTitle('decisions per hour', { fill: BLUE })}
            />
            <YAxis
              yAxisId="median"
              orientation="right"
              domain={median.domain}
              ticks={median.ticks}
              tick={{ ...AXIS_TEXT, fill: ORANGE }}
              stroke={ORANGE}
              width={56}
              label={yTitle('seconds per decision', { right: true, fill: ORANGE })}
            />
            <Tooltip formatter={(v, name) => [exactNumber(v), name]} />
            <Legend verticalAlign="top" height={28} />
            <Bar
              yAxisId="rate"
              dataKey="decisionsPerHour"
              name="decisions per hour of review (left axis)"
              fill={BLUE}
              isAnimationActive={false}
            />
            <Bar
              yAxisId="median"
              dataKey="medianSeconds"
              name="median seconds per decision (right axis)"
              fill={ORANGE}
              isAnimationActive={false}
            />
          </BarChart>
        </Frame>
      );
    }
    case 'gold-agreement':
      return (
        <RateBars
          rows={rows}
          x="reviewer"
          xLabel="reviewer"
          yLabel="agreement (%)"
          bars={[{ key: 'agreement', name: 'agreement with gold labels' }]}
        />
      );
    case 'class-metrics-reviewed':
    case 'class-metrics-audit':
      return (
        <RateBars
          rows={rows}
          x="class"
          xLabel="class"
          yLabel="precision, recall (%)"
          bars={[
            { key: 'precision', name: 'precision' },
            { key: 'recall', name: 'recall' },
          ]}
        />
      );
    case 'overrides':
      return (
        <RateBars
          rows={rows}
          x="class"
          xLabel="class the model predicted"
          yLabel="overridden (%)"
          bars={[{ key: 'overrideRate', name: 'share of decisions that changed the label' }]}
        />
      );
    case 'confusion-reviewed':
    case 'confusion-audit':
      return <ConfusionHeatmap rows={rows} classNames={classNames} />;
    case 'reliability':
      return (
        <Frame>
          <LineChart data={rows.filter((r) => r.count !== 0)} margin={MARGIN}>
            <CartesianGrid {...GRID} />
            <XAxis
              dataKey="confidence"
              type="number"
              domain={[0, 1]}
              ticks={PERCENT_TICKS}
              tickFormatter={tickPct(PERCENT_TICKS)}
              tick={AXIS_TEXT}
              name="mean confidence"
              label={xTitle('stated confidence (%)')}
            />
            <YAxis
              domain={[0, 1]}
              ticks={PERCENT_TICKS}
              tickFormatter={tickPct(PERCENT_TICKS)}
              tick={AXIS_TEXT}
              width={56}
              label={yTitle('accuracy (%)')}
            />
            <Tooltip formatter={(v) => exactPct(v)} labelFormatter={(v) => `confidence ${exactPct(v)}`} />
            <Legend verticalAlign="top" height={28} />
            <ReferenceLine
              segment={[
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ]}
              stroke="#9ca3af"
              strokeDasharray="4 4"
              ifOverflow="extendDomain"
            />
            <Line
              dataKey="accuracy"
              name="accuracy per confidence bin (dashed: perfect calibration)"
              stroke={BLUE}
              isAnimationActive={false}
            />
          </LineChart>
        </Frame>
      );
    case 'risk-coverage': {
      const shown = rows.filter((r) => r.accuracy !== null);
      const axis = accuracyAxis(numbersOf(shown, ['accuracy']));
      return (
        <Frame>
          <LineChart data={shown} margin={MARGIN}>
            <CartesianGrid {...GRID} />
            <XAxis
              dataKey="coverage"
              type="number"
              domain={[0, 1]}
              ticks={PERCENT_TICKS}
              tickFormatter={tickPct(PERCENT_TICKS)}
              tick={AXIS_TEXT}
              label={xTitle('coverage: share auto-accepted (%)')}
            />
            <YAxis
              domain={axis.domain}
              ticks={axis.ticks}
              tickFormatter={tickPct(axis.ticks)}
              tick={AXIS_TEXT}
              width={56}
              label={yTitle('accuracy (%)')}
            />
            <Tooltip formatter={(v) => exactPct(v)} labelFormatter={(v) => `coverage ${exactPct(v)}`} />
            <Legend verticalAlign="top" height={28} />
            <Line
              dataKey="accuracy"
              name="accuracy of auto-accepted (by coverage)"
              stroke={BLUE}
              isAnimationActive={false}
            />
          </LineChart>
        </Frame>
      );
    }
    default:
      return null;
  }
}

function Frame({ children }: { children: React.ReactElement }) {
  return (
    <div className="h-[260px] w-full text-gray-700" data-testid="chart">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

function AccuracyLine({ rows, x, xLabel, label }: { rows: ChartRows; x: string; xLabel: string; label: string }) {
  const axis = accuracyAxis(numbersOf(rows, ['accuracy']));
  return (
    <Frame>
      <LineChart data={rows} margin={MARGIN}>
        <CartesianGrid {...GRID} />
        <XAxis dataKey={x} tick={AXIS_TEXT} label={xTitle(xLabel)} />
        <YAxis
          domain={axis.domain}
          ticks={axis.ticks}
          tickFormatter={tickPct(axis.ticks)}
          tick={AXIS_TEXT}
          width={56}
          label={yTitle('accuracy (%)')}
        />
        <Tooltip formatter={(v) => exactPct(v)} />
        <Legend verticalAlign="top" height={28} />
        <Line dataKey="accuracy" name={label} stroke={BLUE} isAnimationActive={false} />
      </LineChart>
    </Frame>
  );
}

function RateBars({
  rows,
  x,
  xLabel,
  yLabel,
  bars,
}: {
  rows: ChartRows;
  x: string;
  xLabel: string;
  yLabel: string;
  bars: { key: string; name: string }[];
}) {
  return (
    <Frame>
      <BarChart data={rows} margin={MARGIN}>
        <CartesianGrid {...GRID} />
        <XAxis dataKey={x} tick={AXIS_TEXT} interval={0} label={xTitle(xLabel)} />
        <YAxis
          domain={[0, 1]}
          ticks={PERCENT_TICKS}
          tickFormatter={tickPct(PERCENT_TICKS)}
          tick={AXIS_TEXT}
          width={56}
          label={yTitle(yLabel)}
        />
        <Tooltip formatter={(v) => exactPct(v)} />
        <Legend verticalAlign="top" height={28} />
        {bars.map((bar, i) => (
          <Bar
            key={bar.key}
            dataKey={bar.key}
            name={bar.name}
            fill={i === 0 ? BLUE : ORANGE}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    </Frame>
  );
}

/** A matrix reads best as a shaded table: rows are the reviewer's class, columns the model's. */
function ConfusionHeatmap({ rows, classNames }: { rows: ChartRows; classNames: string[] }) {
  const count = new Map(rows.map((r) => [`${r.reviewerClass}\u0000${r.modelClass}`, Number(r.count)]));
  const max = Math.max(1, ...count.values());
  return (
    <div className="overflow-x-auto" data-testid="confusion-matrix">
      <table className="text-xs tabular-nums">
        <thead>
          <tr>
            <th className="px-1 text-left font-normal text-gray-500">reviewer ↓ / model →</th>
            {classNames.map((name) => (
              <th key={name} className="px-1 font-normal text-gray-600">
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {classNames.map((truth) => (
            <tr key={truth}>
              <th className="px-1 text-left font-normal text-gray-600">{truth}</th>
              {classNames.map((predicted) => {
                const n = count.get(`${truth}\u0000${predicted}`) ?? 0;
                const shade = n === 0 ? 0 : 0.12 + 0.88 * (n / max);
                return (
                  <td
                    key={predicted}
                    className="px-1.5 py-0.5 text-center"
                    style={{ backgroundColor: `rgba(${truth === predicted ? '37,99,235' : '234,88,12'},${shade})` }}
                  >
                    {n || ''}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
