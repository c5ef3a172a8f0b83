import Link from 'next/link';
import { countCatalogueSummaries } from '@/lib/catalogue/summary';
import { describeExcluded } from '@/lib/catalogue/scope-sentence';
import { canSeeEvaluationItems } from '@/lib/catalogue/visibility';
import { requirePageAccess } from '@/lib/http/page-auth';

export const dynamic = 'force-dynamic';

const STATUS_COLUMNS = [
  { status: 'auto_accepted', label: 'Auto-accepted' },
  { status: 'needs_review', label: 'Needs review' },
  { status: 'reviewed', label: 'Reviewed' },
  { status: 'unscored', label: 'Unscored' },
] as const;

export default async function CataloguesPage() {
  const { actor } = await requirePageAccess('catalogue.read', '/catalogues');
  const summaries = await countCatalogueSummaries();
  const showGold = canSeeEvaluationItems(actor);
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Catalogues</h1>
      {summaries.length === 0 ? (
        <p className="mt-4 text-gray-700" data-testid="catalogues-empty">
          No catalogue yet: import one first.
        </p>
      ) : (
        // The table scrolls inside its own box on a narrow screen, never the page.
        <div className="mt-4 overflow-x-auto rounded shadow-sm">
          <table className="w-full border-collapse bg-white text-sm" data-testid="catalogues-table">
            <thead>
              <tr className="border-b text-left text-gray-600">
                <th className="p-2">Catalogue</th>
                <th className="p-2 text-right">Items</th>
                {STATUS_COLUMNS.map((c) => (
                  <th key={c.status} className="p-2 text-right">
                    {c.label}
                  </th>
                ))}
                <th className="p-2">Active model</th>
              </tr>
            </thead>
            <tbody>
              {summaries.map((s) => (
                <tr key={s.slug} className="border-b" data-testid="catalogue-row">
                  <td className="p-2">
                    <Link className="font-medium text-blue-700 hover:underline" href={`/catalogues/${s.slug}`}>
                      {s.name}
                    </Link>
                    <div className="text-xs text-gray-500">{s.slug}</div>
                  </td>
                  <td className="p-2 text-right tabular-nums">
                    {s.total.toLocaleString('en-US')}
                    <div className="text-xs whitespace-nowrap text-gray-500" data-testid="catalogue-scope">
                      {describeExcluded({
                        holdout: s.evaluation.holdout ?? 0,
                        gold: showGold ? (s.evaluation.gold ?? 0) : null,
                      })}
                    </div>
                  </td>
                  {STATUS_COLUMNS.map((c) => (
                    <td key={c.status} className="p-2 text-right tabular-nums">
                      {/* Each count opens the browser filtered to that status. */}
                      <Link className="hover:underline" href={`/catalogues/${s.slug}?status=${c.status}`}>
                        {(s.byStatus[c.status] ?? 0).toLocaleString('en-US')}
                      </Link>
                    </td>
                  ))}
                  <td className="p-2">{s.activeModel ?? <span className="text-gray-500">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {summaries.length > 0 && (
        <p className="mt-3 text-sm text-gray-600">
          Items and the status counts leave out evaluation items (the holdout{showGold ? ' and gold items' : ''}), which
          carry trusted labels and are counted apart.
        </p>
      )}
    </main>
  );
}
