import Link from 'next/link';
import { countCatalogueSummaries } from '@/lib/catalogue/summary';
import { requirePageAccess } from '@/lib/http/page-auth';
import { can } from '@/lib/auth/permissions';

export const dynamic = 'force-dynamic';

export default async function HomePage() {
  const access = await requirePageAccess('catalogue.read', '/');
  const summaries = await countCatalogueSummaries();
  const reviewer = can(access.actor.role, 'items.review');
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Catalogues</h1>
      <div className="mt-4 overflow-x-auto">
        <table className="w-full border-collapse bg-white text-sm" data-testid="catalogue-summary">
          <thead>
            <tr className="border-b text-left text-gray-600">
              <th className="p-2">Catalogue</th>
              <th className="p-2 text-right">Items</th>
              <th className="p-2 text-right">Auto-accepted</th>
              <th className="p-2 text-right">Needs review</th>
              <th className="p-2 text-right">Reviewed</th>
              <th className="p-2 text-right">Unscored</th>
              <th className="p-2">Active model</th>
              <th className="p-2" />
            </tr>
          </thead>
          <tbody>
            {summaries.map((s) => (
              <tr key={s.slug} className="border-b">
                <td className="p-2">
                  <Link className="text-blue-700 hover:underline" href={`/catalogues/${s.slug}`}>
                    {s.name}
                  </Link>
                </td>
                <td className="p-2 text-right tabular-nums">{s.total}</td>
                <td className="p-2 text-right tabular-nums">{s.byStatus.auto_accepted ?? 0}</td>
                <td className="p-2 text-right tabular-nums">{s.byStatus.needs_review ?? 0}</td>
                <td className="p-2 text-right tabular-nums">{s.byStatus.reviewed ?? 0}</td>
                <td className="p-2 text-right tabular-nums">{s.byStatus.unscored ?? 0}</td>
                <td className="p-2">{s.activeModel ?? 'none'}</td>
                <td className="p-2">
                  {reviewer && (
                    <Link className="rounded bg-gray-900 px-2 py-1 text-white" href={`/review?catalogue=${s.slug}`}>
                      Review
                    </Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </main>
  );
}
