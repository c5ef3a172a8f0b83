import type { SimulationResult, TimelinePoint } from '@/scripts/sim/simulate';

/**
 * The simulation's chart: one self-contained HTML page (inline SVG, no script, nothing
 * fetched) with a panel per figure over simulated time and a line at each promotion.
 */

interface Series {
  label: string;
  color: string;
  value: (point: TimelinePoint) => number | null;
}

interface Panel {
  title: string;
  unit: '%' | 'items';
  series: Series[];
}

const PANELS: Panel[] = [
  {
    title: 'Accuracy against the ground truth',
    unit: '%',
    series: [
      { label: 'catalogue labels', color: '#1f6feb', value: (p) => p.catalogueAccuracy },
      { label: 'auto-accepted items', color: '#d29922', value: (p) => p.autoAcceptedAccuracy },
      {
        label: 'active model alone (catalogue, incl. items it was tuned on)',
        color: '#8957e5',
        value: (p) => p.modelAccuracy,
      },
      { label: 'active model (holdout)', color: '#2da44e', value: (p) => p.activeModelHoldoutAccuracy },
    ],
  },
  {
    title: 'Share of items reviewed by a person',
    unit: '%',
    series: [{ label: 'reviewed', color: '#1f6feb', value: (p) => p.reviewedShare }],
  },
  {
    title: 'Queue depth',
    unit: 'items',
    series: [
      { label: 'waiting for review', color: '#cf222e', value: (p) => p.queueDepth },
      { label: 'not scored yet', color: '#6e7781', value: (p) => p.unscored },
    ],
  },
  {
    title: 'Human decisions so far',
    unit: 'items',
    series: [{ label: 'decisions', color: '#1f6feb', value: (p) => p.humanDecisions }],
  },
];

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 56, right: 16, top: 12, bottom: 28 };

export function renderSimulationHtml(result: SimulationResult): string {
  const { timeline, summary, scenario } = result;
  const tMax = Math.max(1, ...timeline.map((p) => p.t));
  const promotions = result.models
    .filter((m) => m.activeAt !== null && m.activeAt > (result.models[0]?.activeAt ?? 0))
    .map((m) => ({ t: m.activeAt!, name: m.name }));
  const panels = PANELS.map((panel) => renderPanel(panel, timeline, tMax, promotions)).join('\n');
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
  const threshold =
    scenario.threshold.mode === 'target'
      ? `target ${pct(scenario.threshold.targetAccuracy)}`
      : scenario.threshold.mode === 'fixed'
        ? `fixed ${scenario.threshold.threshold}`
        : 'as configured';
  const rows: [string, string][] = [
    ['Stopped because', summary.stoppedBecause],
    ['Simulated time', `${summary.seconds} s`],
    ['Items', summary.items.toLocaleString('en')],
    ['Catalogue accuracy', pct(summary.catalogueAccuracy)],
    ['Model alone would have reached', `${pct(summary.modelAloneAccuracy)} (${summary.modelAloneSource ?? 'unknown'})`],
    [
      'Final model alone on the catalogue',
      `${pct(summary.finalModelAccuracy)} (includes the human-labelled items it was fine-tuned on; its holdout accuracy is out of sample)`,
    ],
    [
      'Human decisions',
      `${summary.humanDecisions.toLocaleString('en')} (${summary.corrections.toLocaleString('en')} corrections, ${summary.reviewerSlips} reviewer slips)`,
    ],
    ['Share reviewed', pct(summary.reviewedShare)],
    ['Auto-accepted accuracy', pct(summary.autoAcceptedAccuracy)],
    [
      'Model versions promoted',
      `${summary.modelVersionsPromoted} (final: ${summary.finalModel ?? '-'}, holdout ${pct(summary.finalModelHoldoutAccuracy)})`,
    ],
    [
      'Scenario',
      `${scenario.reviewers} reviewers, error rate ${pct(scenario.errorRate)}, ${scenario.thinkMs} ms per item, threshold ${threshold}, ${scenario.streamItems.toLocaleString('en')} items of ${scenario.stream} ${scenario.batches === 0 ? 'already in the catalogue' : `in ${scenario.batches} chunks`}`,
    ],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Loupe simulation</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; }
table { border-collapse: collapse; margin-bottom: 16px; }
td { padding: 2px 12px 2px 0; vertical-align: top; }
td:first-child { color: #59636e; }
h2 { font-size: 15px; margin: 20px 0 4px; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 3px; margin-right: 4px; vertical-align: middle; }
svg text { font: 11px system-ui, sans-serif; fill: #59636e; }
</style>
</head>
<body>
<h1>Loupe closed-loop simulation</h1>
<table>${rows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${panels}
</body>
</html>
`;
}

function renderPanel(
  panel: Panel,
  timeline: TimelinePoint[],
  tMax: number,
  promotions: { t: number; name: string }[],
): string {
  const scale = panel.unit === '%' ? 100 : 1;
  const values = timeline
    .flatMap((p) => panel.series.map((s) => s.value(p)))
    .filter((v): v is number => v !== null)
    .map((v) => v * scale);
  let yMin = panel.unit === '%' ? Math.min(100, ...values) : 0;
  let yMax = panel.unit === '%' ? 100 : Math.max(1, ...values);
  if (panel.unit === '%') yMin = Math.max(0, Math.floor(yMin / 5) * 5 - (yMin % 5 === 0 ? 5 : 0));
  if (yMax - yMin <= 0) yMax = yMin + 1;
  const x = (t: number) => PAD.left + (t / tMax) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - ((v - yMin) / (yMax - yMin)) * (HEIGHT - PAD.top - PAD.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => yMin + f * (yMax - yMin));
  const grid = ticks
    .map(
      (v) =>
        `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaeef2"/><text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${formatTick(v, panel.unit)}</text>`,
    )
    .join('');
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(f * tMax).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle">${(f * tMax).toFixed(0)} s</text>`,
    )
    .join('');
  const marks = promotions
    .map(
      (m) =>
        `<line x1="${x(m.t).toFixed(1)}" x2="${x(m.t).toFixed(1)}" y1="${PAD.top}" y2="${HEIGHT - PAD.bottom}" stroke="#8c959f" stroke-dasharray="3 3"/><text x="${(x(m.t) + 3).toFixed(1)}" y="${PAD.top + 10}">${escapeHtml(m.name)}</text>`,
    )
    .join('');
  const lines = panel.series
    .map((s) => {
      const points = timeline
        .map((p) => [p.t, s.value(p)] as const)
        .filter((pair): pair is readonly [number, number] => pair[1] !== null);
      if (points.length === 0) return '';
      const d = points
        .map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v * scale).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    })
    .join('');
  const legend = panel.series
    .map((s) => `<span><i style="background:${s.color}"></i>${escapeHtml(s.label)}</span>`)
    .join('');
  return `<h2>${escapeHtml(panel.title)}</h2>
<div class="legend">${legend}</div>
<svg width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(panel.title)}">${grid}${xTicks}${marks}${lines}</svg>`;
}

function formatTick(value: number, unit: Panel['unit']): string {
  return unit === '%' ? `${value.toFixed(value % 1 === 0 ? 0 : 1)}%` : Math.round(value).toLocaleString('en');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
