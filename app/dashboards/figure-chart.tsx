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
import type { Cell } from '@/lib/dashboards/common';

export type ChartRows = Record<string, Cell>[];

const HEIGHT = 240;
const BLUE = '#2563eb';
const ORANGE = '#ea580c';
const pct = (value: unknown) => (typeof value === 'number' ? `${(value * 100).toFixed(1)}%` : '—');
/** Accuracy axes end at 100% and start a little under the lowest value, never below 0. */
const ACCURACY_DOMAIN: [(min: number) => number, number] = [(min) => Math.max(0, Math.floor(min * 20) / 20 - 0.05), 1];
const hourLabel = (value: unknown) => (typeof value === 'string' ? value.slice(11, 16) : '');

/** Draws one dashboard figure from the rows the server computed (the same rows as its CSV). */
export function FigureChart({ id, rows, classNames }: { id: string; rows: ChartRows; classNames: string[] }) {
  switch (id) {
    case 'holdout-accuracy':
      return <AccuracyLine rows={rows} x="version" label="Holdout accuracy" />;
    case 'audit-accuracy':
      return <AccuracyLine rows={rows} x="day" label="Auto-accepted accuracy" />;
    case 'queue-flow':
      return (
        <Frame>
          <BarChart data={rows}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="hour" tickFormatter={hourLabel} fontSize={11} />
            <YAxis allowDecimals={false} fontSize={11} />
            <Tooltip labelFormatter={(v) => `${String(v).replace('T', ' ').slice(0, 16)} UTC`} />
            <Legend />
            <Bar dataKey="in" name="in" fill={ORANGE} isAnimationActive={false} />
            <Bar dataKey="out" name="out (decisions)" fill={BLUE} isAnimationActive={false} />
          </BarChart>
        </Frame>
      );
    case 'reviewer-throughput':
      return (
        <Frame>
          <BarChart data={rows}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="reviewer" fontSize={11} />
            <YAxis yAxisId="rate" fontSize={11} />
            <YAxis yAxisId="median" orientation="right" fontSize={11} />
            <Tooltip />
            <Legend />
            <Bar
              yAxisId="rate"
              dataKey="decisionsPerHour"
              name="decisions per hour of review"
              fill={BLUE}
              isAnimationActive={false}
            />
            <Bar
              yAxisId="median"
              dataKey="medianSeconds"
              name="median seconds per decision"
              fill={ORANGE}
              isAnimationActive={false}
            />
          </BarChart>
        </Frame>
      );
    case 'gold-agreement':
      return <RateBars rows={rows} x="reviewer" bars={[{ key: 'agreement', name: 'agreement with gold' }]} />;
    case 'class-metrics-reviewed':
    case 'class-metrics-audit':
      return (
        <RateBars
          rows={rows}
          x="class"
          bars={[
            { key: 'precision', name: 'precision' },
            { key: 'recall', name: 'recall' },
          ]}
        />
      );
    case 'overrides':
      return <RateBars rows={rows} x="class" bars={[{ key: 'overrideRate', name: 'override rate' }]} />;
    case 'confusion-reviewed':
    case 'confusion-audit':
      return <ConfusionHeatmap rows={rows} classNames={classNames} />;
    case 'reliability':
      return (
        <Frame>
          <LineChart data={rows.filter((r) => r.count !== 0)}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              dataKey="confidence"
              type="number"
              domain={[0, 1]}
              tickFormatter={pct}
              fontSize={11}
              name="mean confidence"
            />
            <YAxis domain={[0, 1]} tickFormatter={pct} fontSize={11} />
            <Tooltip formatter={(v) => pct(v)} labelFormatter={(v) => `confidence ${pct(v)}`} />
            <Legend />
            <ReferenceLine
              segment={[
                { x: 0, y: 0 },
                { x: 1, y: 1 },
              ]}
              stroke="#9ca3af"
              strokeDasharray="4 4"
              ifOverflow="extendDomain"
            />
            <Line dataKey="accuracy" name="accuracy per confidence bin" stroke={BLUE} isAnimationActive={false} />
          </LineChart>
        </Frame>
      );
    case 'risk-coverage':
      return (
        <Frame>
          <LineChart data={rows.filter((r) => r.accuracy !== null)}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="coverage" type="number" domain={[0, 1]} tickFormatter={pct} fontSize={11} />
            <YAxis domain={ACCURACY_DOMAIN} tickFormatter={pct} fontSize={11} />
            <Tooltip formatter={(v) => pct(v)} labelFormatter={(v) => `coverage ${pct(v)}`} />
            <Legend />
            <Line
              dataKey="accuracy"
              name="accuracy of auto-accepted (by coverage)"
              stroke={BLUE}
              isAnimationActive={false}
            />
          </LineChart>
        </Frame>
      );
    default:
      return null;
  }
}

function Frame({ children }: { children: React.ReactElement }) {
  return (
    <div className="h-60 w-full" data-testid="chart">
      <ResponsiveContainer width="100%" height={HEIGHT}>
        {children}
      </ResponsiveContainer>
    </div>
  );
}

function AccuracyLine({ rows, x, label }: { rows: ChartRows; x: string; label: string }) {
  return (
    <Frame>
      <LineChart data={rows}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey={x} fontSize={11} />
        <YAxis domain={ACCURACY_DOMAIN} tickFormatter={pct} fontSize={11} />
        <Tooltip formatter={(v) => pct(v)} />
        <Legend />
        <Line dataKey="accuracy" name={label} stroke={BLUE} isAnimationActive={false} />
      </LineChart>
    </Frame>
  );
}

function RateBars({ rows, x, bars }: { rows: ChartRows; x: string; bars: { key: string; name: string }[] }) {
  return (
    <Frame>
      <BarChart data={rows}>
        <CartesianGrid strokeDasharray="3 3" />
        <XAxis dataKey={x} fontSize={11} interval={0} />
        <YAxis domain={[0, 1]} tickFormatter={pct} fontSize={11} />
        <Tooltip formatter={(v) => pct(v)} />
        <Legend />
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
