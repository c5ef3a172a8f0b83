import Link from 'next/link';
import { getDb } from '@/db/client';
import { can } from '@/lib/auth/permissions';
import { requirePageAccess } from '@/lib/http/page-auth';
import { COMPARISON_COLUMNS, comparisonCells } from '@/lib/lab/compare-table';
import { isRegistrableArchitecture } from '@/lib/lab/architectures';
import {
  describeLabRunSettings,
  LabRunSettings,
  listLabCatalogues,
  listLabRuns,
  readLabRun,
  type LabRunDetail,
} from '@/lib/lab/lab-runs';
import type { AverageMetrics, ClassMetrics } from '@/lib/ml/metrics';
import { AutoRefresh } from './auto-refresh';
import { ClassReport } from './class-report';
import { ConfusionHeatmap } from './confusion-heatmap';
import { PredictionGrid, type GridItem } from './prediction-grid';
import { RegisterButton } from './register-button';
import { StartRunForm } from './start-run-form';

export const dynamic = 'force-dynamic';

const GRID_SIZE = 48;

type Search = { catalogue?: string; run?: string; row?: string; wrong?: string };

function href(search: Search): string {
  const params = new URLSearchParams(Object.entries(search).filter(([, v]) => v !== undefined) as [string, string][]);
  return `/lab?${params.toString()}`;
}

function describeProgress(progress: Record<string, unknown> | null | undefined): string {
  if (!progress) return 'waiting for the worker';
  const p = progress as {
    arch?: string;
    phase?: string;
    step?: number;
    steps?: number;
    index?: number;
    of?: number;
    message?: string;
  };
  if (p.arch && p.phase === 'training')
    return `${p.arch} (${(p.index ?? 0) + 1} of ${p.of ?? '?'}): ${p.arch === 'forest' ? 'tree' : 'epoch'} ${p.step} of ${p.steps}`;
  if (p.arch) return `${p.arch} (${(p.index ?? 0) + 1} of ${p.of ?? '?'}): ${p.phase}`;
  return p.message ?? p.phase ?? 'running';
}

/** How the run trained, in one line (nothing for settings this version cannot read). */
function RunSettings({ detail }: { detail: LabRunDetail }) {
  const settings = LabRunSettings.safeParse(detail.run.settings);
  if (!settings.success) return null;
  return (
    <p className="text-xs text-gray-600" data-testid="lab-run-settings">
      {describeLabRunSettings(settings.data, detail.run.archs, {
        train: detail.run.trainCount,
        test: detail.run.testItemIds?.length ?? null,
      })}
    </p>
  );
}

function RunTable({ detail, search, canRun }: { detail: LabRunDetail; search: Search; canRun: boolean }) {
  return (
    <table className="mt-2 text-sm tabular-nums" data-testid="lab-table">
      <thead>
        <tr className="text-left text-gray-500">
          {COMPARISON_COLUMNS.map((column) => (
            <th key={column} className="px-2 font-normal">
              {column}
            </th>
          ))}
          <th className="px-2 font-normal">candidate</th>
        </tr>
      </thead>
      <tbody>
        {detail.rows.map((row) => {
          const cells = comparisonCells(row);
          const selected = search.row === row.arch;
          return (
            <tr
              key={row.id}
              className={`border-t ${selected ? 'bg-blue-50' : ''}`}
              data-testid="lab-row"
              data-arch={row.arch}
            >
              <td className="px-2">
                <Link className="font-medium underline" href={href({ ...search, row: row.arch, wrong: undefined })}>
                  {cells[0]}
                </Link>
              </td>
              {cells.slice(1).map((cell, i) => (
                <td key={i} className="px-2 text-right">
                  {cell}
                </td>
              ))}
              <td className="px-2">
                {row.candidate ? (
                  <Link className="underline" href="/models" data-testid="lab-candidate">
                    {row.candidate.name} ({row.candidate.status})
                  </Link>
                ) : detail.registering[row.id] ? (
                  <span className="text-xs text-gray-600">gate job {detail.registering[row.id]} running</span>
                ) : canRun && isRegistrableArchitecture(row.arch) && row.modelDir ? (
                  <RegisterButton labResultId={row.id} arch={row.arch} />
                ) : (
                  <span className="text-xs text-gray-400">
                    {isRegistrableArchitecture(row.arch) ? '—' : 'not servable'}
                  </span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function RowDetail({ detail, search }: { detail: LabRunDetail; search: Search }) {
  const row = detail.rows.find((r) => r.arch === search.row);
  if (!row) return null;
  const report = row.report as { perClass: ClassMetrics[]; macroAvg: AverageMetrics; confusion: number[][] };
  const itemIds = detail.run.testItemIds ?? [];
  const labels = detail.run.testLabels ?? [];
  const wrongOnly = search.wrong === '1';
  const items: GridItem[] = [];
  for (let i = 0; i < itemIds.length && items.length < GRID_SIZE; i++) {
    const item = {
      itemId: itemIds[i]!,
      actual: labels[i]!,
      predicted: row.predicted[i]!,
      confidence: row.confidence[i]!,
    };
    if (!wrongOnly || item.actual !== item.predicted) items.push(item);
  }
  const { classNames } = detail.catalogue;
  return (
    <section className="mt-6" data-testid="lab-row-detail" data-arch={row.arch}>
      <h3 className="text-base font-medium">{row.arch}: confusion matrix and classification report</h3>
      <div className="mt-2 flex flex-wrap gap-6">
        <ConfusionHeatmap confusion={report.confusion} classNames={classNames} />
        <ClassReport perClass={report.perClass} macroAvg={report.macroAvg} />
      </div>
      <h3 className="mt-6 text-base font-medium">{row.arch}: predictions on holdout items</h3>
      <PredictionGrid
        items={items}
        classNames={classNames}
        wrongOnly={wrongOnly}
        toggleHref={href({ ...search, wrong: wrongOnly ? undefined : '1' })}
      />
    </section>
  );
}

/** The model lab: architectures side by side on a catalogue's holdout. Admins run; ops read. */
export default async function LabPage({ searchParams }: { searchParams: Promise<Search> }) {
  const { actor } = await requirePageAccess('lab.read', '/lab');
  const db = getDb();
  const search = await searchParams;
  const canRun = can(actor.role, 'lab.run');
  const catalogueList = await listLabCatalogues(db, { actor });
  const catalogue = catalogueList.find((c) => c.slug === search.catalogue) ?? catalogueList[0];
  const runs = catalogue ? await listLabRuns(db, { actor, catalogue: catalogue.slug }) : [];
  const runId = Number(search.run ?? runs[0]?.run.id);
  const detail =
    Number.isInteger(runId) && runs.some((r) => r.run.id === runId) ? await readLabRun(db, { actor, runId }) : null;
  const active = detail?.job && (detail.job.status === 'queued' || detail.job.status === 'running');
  const shown: Search = {
    catalogue: catalogue?.slug,
    run: detail ? String(detail.run.id) : undefined,
    row: search.row,
    wrong: search.wrong,
  };

  return (
    <main className="mx-auto max-w-6xl p-4">
      <h1 className="text-xl font-semibold">Model lab</h1>
      <p className="mt-1 max-w-3xl text-sm text-gray-700">
        Architectures side by side: each is trained on a class-balanced sample of the catalogue&apos;s labelled pool
        (never its holdout or human labels) and measured on its holdout. A network Loupe can serve can be registered as
        a candidate; the evaluation gate then decides, as for any fine-tuned candidate. The same table on the command
        line: <code>npm run compare</code>.
      </p>
      <nav className="mt-3 flex flex-wrap gap-2 text-sm" aria-label="Catalogues">
        {catalogueList.map((c) => (
          <Link
            key={c.slug}
            href={href({ catalogue: c.slug })}
            className={`rounded border px-2 py-0.5 ${c.slug === catalogue?.slug ? 'border-gray-900 bg-gray-900 text-white' : 'border-gray-300'}`}
          >
            {c.name} <span className="opacity-70">({c.holdout.toLocaleString('en-US')} holdout)</span>
          </Link>
        ))}
      </nav>
      {catalogue && canRun && <StartRunForm key={catalogue.slug} catalogue={catalogue.slug} />}
      {catalogue && runs.length === 0 && (
        <p className="mt-4 text-sm text-gray-600">No lab runs for {catalogue.name} yet.</p>
      )}
      {runs.length > 0 && (
        <ul className="mt-4 flex flex-wrap gap-2 text-xs" aria-label="Lab runs" data-testid="lab-runs">
          {runs.map(({ run, job, results }) => (
            <li key={run.id}>
              <Link
                href={href({ catalogue: catalogue?.slug, run: String(run.id) })}
                className={`rounded border px-2 py-0.5 ${run.id === detail?.run.id ? 'border-blue-700 bg-blue-50' : 'border-gray-300'}`}
              >
                run {run.id}: {run.archs.join(', ')} · {job?.status ?? 'no job'} · {results} rows
              </Link>
            </li>
          ))}
        </ul>
      )}
      {detail && (
        <section
          className="mt-4"
          data-testid="lab-run"
          data-run={detail.run.id}
          data-status={detail.job?.status ?? 'none'}
        >
          <h2 className="text-lg font-medium">
            Run {detail.run.id}{' '}
            <span className="text-sm font-normal text-gray-600">({detail.job?.status ?? 'no job'})</span>
          </h2>
          {detail.run.source && <p className="text-xs text-gray-600">{detail.run.source}</p>}
          <RunSettings detail={detail} />
          {active && (
            <p className="text-sm" data-testid="lab-progress">
              {describeProgress(detail.job?.progress)}
              <AutoRefresh />
            </p>
          )}
          {detail.job?.status === 'failed' && (
            <p role="alert" className="text-sm text-red-700">
              The run failed: {detail.job.error}
            </p>
          )}
          {detail.rows.length > 0 && <RunTable detail={detail} search={shown} canRun={canRun} />}
          {detail.rows.length > 0 && !search.row && (
            <p className="mt-1 text-xs text-gray-600">
              Pick an architecture for its confusion heatmap, report and predictions.
            </p>
          )}
          <RowDetail detail={detail} search={shown} />
        </section>
      )}
    </main>
  );
}
