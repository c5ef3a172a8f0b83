import Link from 'next/link';
import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { readDashboard, SOURCE_PHRASES, type DashboardFigure, type FigureId } from '@/lib/dashboards';
import { requirePageAccess } from '@/lib/http/page-auth';
import { FigureChart } from './figure-chart';

export const dynamic = 'force-dynamic';

const pct = (value: unknown) => (typeof value === 'number' ? `${(value * 100).toFixed(2)}%` : '—');

const GROUPS: { title: string; figures: FigureId[] }[] = [
  { title: 'Accuracy', figures: ['holdout-accuracy', 'audit-accuracy', 'catalogue-accuracy'] },
  { title: 'Queue', figures: ['queue-now', 'queue-flow'] },
  { title: 'Reviewers', figures: ['reviewer-throughput', 'gold-agreement'] },
  {
    title: 'Model',
    figures: [
      'class-metrics-audit',
      'confusion-audit',
      'class-metrics-reviewed',
      'confusion-reviewed',
      'reliability',
      'risk-coverage',
    ],
  },
  { title: 'Human overrides', figures: ['overrides'] },
];

/** Figures shown as numbers rather than a chart: each is a single row. */
function Stats({ figure }: { figure: DashboardFigure }) {
  const row = figure.rows[0];
  if (!row) return null;
  const items: [string, string][] =
    figure.id === 'queue-now'
      ? [
          ['waiting for review', String(row.waiting)],
          ['oldest waiting', row.oldestAgeHours === null ? '—' : `${row.oldestAgeHours} h`],
        ]
      : [
          ['estimated catalogue accuracy', pct(row.estimate)],
          ['human labels', String(row.humanLabelled)],
          ['auto-accepted', String(row.autoAccepted)],
          ['audit accuracy', `${pct(row.auditAccuracy)} of ${row.audited}`],
        ];
  return (
    <dl className="flex flex-wrap gap-6">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt className="text-xs text-gray-500">{label}</dt>
          <dd className="text-xl font-semibold tabular-nums" data-testid={`stat-${label.replaceAll(' ', '-')}`}>
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function FigureCard({ figure, slug, classNames }: { figure: DashboardFigure; slug: string; classNames: string[] }) {
  const isStat = figure.id === 'queue-now' || figure.id === 'catalogue-accuracy';
  return (
    <section
      className="min-w-0 rounded border border-gray-200 bg-white p-4"
      data-testid={`figure-${figure.id}`}
      data-source={figure.source}
    >
      <div className="flex items-baseline justify-between gap-3">
        <h3 className="font-medium">{figure.title}</h3>
        <a
          href={`/api/v1/catalogues/${slug}/dashboards/${figure.id}.csv`}
          download
          className="text-xs whitespace-nowrap text-blue-700 underline"
        >
          Download CSV
        </a>
      </div>
      <p className="text-xs text-gray-500" data-testid="figure-source">
        {SOURCE_PHRASES[figure.source]}
      </p>
      <div className="mt-3">
        {figure.rows.length === 0 ? null : isStat ? (
          <Stats figure={figure} />
        ) : (
          <FigureChart id={figure.id} rows={figure.rows} classNames={classNames} />
        )}
      </div>
      {figure.note && (
        <p
          className="mt-2 text-sm text-gray-600"
          data-testid={figure.rows.length === 0 ? 'figure-empty' : 'figure-note'}
        >
          {figure.note}
        </p>
      )}
    </section>
  );
}

/** Ops and admins: accuracy, queue health, reviewers, model quality and overrides of one catalogue. */
export default async function DashboardsPage({ searchParams }: { searchParams: Promise<{ catalogue?: string }> }) {
  const access = await requirePageAccess('dashboards.read', '/dashboards');
  const db = getDb();
  const list = await db
    .select({ slug: catalogues.slug, name: catalogues.name })
    .from(catalogues)
    .orderBy(catalogues.name);
  const wanted = (await searchParams).catalogue;
  const current = list.find((c) => c.slug === wanted) ?? list[0];
  const dashboard = current ? await readDashboard(db, { actor: access.actor, catalogue: current.slug }) : null;
  return (
    <main className="mx-auto max-w-7xl p-6">
      <h1 className="text-2xl font-semibold">Dashboards</h1>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        Each figure says which data it comes from. Unbiased figures come from the holdout (trusted labels no model
        trains on), the audit sample (auto-accepted items sent to review at random) and gold items (known labels mixed
        into the queue). Figures on reviewed items are biased toward the items the model was unsure of. Every
        chart&apos;s numbers download as CSV.
      </p>
      {list.length > 1 && (
        <nav className="mt-3 flex gap-3 text-sm" aria-label="Catalogues">
          {list.map((c) => (
            <Link
              key={c.slug}
              href={`/dashboards?catalogue=${c.slug}`}
              className={c.slug === current?.slug ? 'font-semibold' : 'text-blue-700 underline'}
            >
              {c.name}
            </Link>
          ))}
        </nav>
      )}
      {!dashboard ? (
        <p className="mt-6 text-gray-600" data-testid="figure-empty">
          No catalogue yet: import one to see its dashboards.
        </p>
      ) : (
        <div data-testid="dashboards" data-slug={dashboard.catalogue.slug}>
          <p className="mt-2 text-xs text-gray-500">
            {dashboard.catalogue.name} · computed {dashboard.computedAt.replace('T', ' ').slice(0, 16)} UTC
          </p>
          {GROUPS.map((group) => (
            <div key={group.title} className="mt-6">
              <h2 className="text-lg font-medium">{group.title}</h2>
              <div className="mt-2 grid gap-4 lg:grid-cols-2">
                {group.figures.map((id) => (
                  <FigureCard
                    key={id}
                    figure={dashboard.figures[id]}
                    slug={dashboard.catalogue.slug}
                    classNames={dashboard.catalogue.classNames}
                  />
                ))}
              </div>
            </div>
          ))}
        </div>
      )}
    </main>
  );
}
