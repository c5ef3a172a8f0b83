import { z } from 'zod';
import { type Db, withTransaction } from '@/db/client';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { csvField } from '@/lib/catalogue/export';
import { requireCatalogue } from '@/lib/catalogues';
import { parseInput } from '@/lib/validate';
import { auditAccuracyOverTime, catalogueAccuracyEstimate, holdoutAccuracyOverTime } from './accuracy';
import type { Cell, Figure, FigureContext } from './common';
import {
  classMetricsOnDecisions,
  confusionOnDecisions,
  reliabilityOnHoldout,
  riskCoverageOnHoldout,
} from './model-quality';
import { overrideRateByClass } from './overrides';
import { queueFlow, queueNow } from './review-queue';
import { goldAgreementFigure, reviewerThroughput } from './reviewers';

export { SOURCE_PHRASES, type Cell, type Figure, type FigureSource } from './common';

/** Every figure on the dashboards page; the CSV route serves each by its id, from the same function. */
export const FIGURES = {
  'holdout-accuracy': { title: 'Model accuracy on the holdout, per version', compute: holdoutAccuracyOverTime },
  'audit-accuracy': { title: 'Accuracy of auto-accepted items, per day', compute: auditAccuracyOverTime },
  'catalogue-accuracy': { title: 'Catalogue accuracy estimate', compute: catalogueAccuracyEstimate },
  'queue-now': { title: 'Queue now', compute: queueNow },
  'queue-flow': { title: 'Items into and out of the queue per hour (last 24 h)', compute: queueFlow },
  'reviewer-throughput': { title: 'Reviewers: decisions (last 24 h)', compute: reviewerThroughput },
  'gold-agreement': { title: 'Reviewers: agreement with gold items', compute: goldAgreementFigure },
  'class-metrics-reviewed': {
    title: 'Per-class precision and recall, reviewed items',
    compute: async (ctx: FigureContext) => await classMetricsOnDecisions(ctx, 'reviewed'),
  },
  'confusion-reviewed': {
    title: 'Confusion matrix, reviewed items',
    compute: async (ctx: FigureContext) => await confusionOnDecisions(ctx, 'reviewed'),
  },
  'class-metrics-audit': {
    title: 'Per-class precision and recall, audit sample',
    compute: async (ctx: FigureContext) => await classMetricsOnDecisions(ctx, 'audit sample'),
  },
  'confusion-audit': {
    title: 'Confusion matrix, audit sample',
    compute: async (ctx: FigureContext) => await confusionOnDecisions(ctx, 'audit sample'),
  },
  reliability: {
    title: 'Reliability diagram (calibration)',
    compute: async (ctx: FigureContext) => await reliabilityOnHoldout(ctx),
  },
  'risk-coverage': { title: 'Risk-coverage curve', compute: riskCoverageOnHoldout },
  overrides: { title: 'Human override rate per predicted class', compute: overrideRateByClass },
} as const satisfies Record<
  string,
  {
    title: string;
    compute: (ctx: FigureContext) => Promise<{
      source: Figure['source'];
      rows: object[];
      columns: string[];
      note: string | null;
    }>;
  }
>;

export type FigureId = keyof typeof FIGURES;
export const FIGURE_IDS = Object.keys(FIGURES) as FigureId[];

export type DashboardFigure = Figure<Record<string, Cell>> & { id: FigureId; title: string };

export interface Dashboard {
  catalogue: { slug: string; name: string; classNames: string[] };
  figures: Record<FigureId, DashboardFigure>;
  computedAt: string;
}

const Slug = z.string().min(1).max(100);
const FigureIdInput = z.enum(FIGURE_IDS as [FigureId, ...FigureId[]], {
  error: `a figure is one of ${FIGURE_IDS.join(', ')}`,
});

async function contextFor(
  db: Db,
  slug: string,
  now: number,
): Promise<{ ctx: FigureContext; catalogue: Dashboard['catalogue'] }> {
  const catalogue = await requireCatalogue(db, parseInput(Slug, slug));
  return {
    ctx: { db, catalogueId: catalogue.id, classNames: catalogue.classNames, now },
    catalogue: { slug: catalogue.slug, name: catalogue.name, classNames: catalogue.classNames },
  };
}

async function compute(ctx: FigureContext, id: FigureId): Promise<DashboardFigure> {
  const spec = FIGURES[id];
  const figure = (await spec.compute(ctx)) as unknown as Figure<Record<string, Cell>>;
  return { ...figure, id, title: spec.title };
}

/** All figures of one catalogue, read in one transaction so they agree with each other. */
export async function readDashboard(
  db: Db,
  input: { actor: Actor | null; catalogue: string; now?: number },
): Promise<Dashboard> {
  requirePermission(input.actor, 'dashboards.read');
  const now = input.now ?? Date.now();
  // Statements on the same connection inside the transaction all read one snapshot.
  return await withTransaction(db, async (tx) => {
    const { ctx, catalogue } = await contextFor(tx, input.catalogue, now);
    const figures = {} as Record<FigureId, DashboardFigure>;
    for (const id of FIGURE_IDS) figures[id] = await compute(ctx, id);
    return { catalogue, figures, computedAt: new Date(now).toISOString() };
  });
}

export async function readFigure(
  db: Db,
  input: { actor: Actor | null; catalogue: string; figure: string; now?: number },
): Promise<DashboardFigure> {
  requirePermission(input.actor, 'dashboards.read');
  const id = parseInput(FigureIdInput, input.figure);
  const { ctx } = await contextFor(db, input.catalogue, input.now ?? Date.now());
  return await compute(ctx, id);
}

/** The figure's rows as CSV, columns in the figure's order, text cells formula-escaped as the label export does. */
export function figureCsv(figure: DashboardFigure): string {
  const lines = [
    figure.columns.join(','),
    ...figure.rows.map((row) => figure.columns.map((c) => csvField(row[c] ?? null)).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
