import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { requirePageAccess } from '@/lib/http/page-auth';
import { listRecentImports } from '@/lib/import/status';
import { ImportForm } from './import-form';

export const dynamic = 'force-dynamic';

export default async function ImportPage() {
  await requirePageAccess('catalogue.import', '/import');
  const db = getDb();
  const list = await db
    .select({ slug: catalogues.slug, name: catalogues.name, classNames: catalogues.classNames })
    .from(catalogues)
    .orderBy(catalogues.name);
  const recent = await listRecentImports(db, { limit: 10 });
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Import</h1>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        IDX (images file, optional labels file, raw or .gz), CSV (label,pixel1..pixel784 or 784 pixel columns, optional
        header), or PNG/JPEG/WebP images. A bad file imports nothing; importing the same file again adds nothing, and
        images already in the catalogue under another name are skipped and listed (unless you ask to keep them). The
        worker scores new items within a few seconds when the catalogue has a model.
      </p>
      <ImportForm catalogues={list} />

      <h2 className="mt-8 text-lg font-medium">Recent imports</h2>
      {recent.length === 0 ? (
        <p className="text-sm text-gray-500">None yet.</p>
      ) : (
        <div className="mt-2 overflow-x-auto">
          <table className="w-full border-collapse bg-white text-sm" data-testid="recent-imports">
            <thead>
              <tr className="border-b text-left text-gray-600">
                <th className="p-2">When</th>
                <th className="p-2">Catalogue</th>
                <th className="p-2">Kind</th>
                <th className="p-2">Source</th>
                <th className="p-2 text-right">Rows</th>
                <th className="p-2 text-right">Added</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((row) => (
                <tr key={row.id} className="border-b">
                  <td className="p-2 whitespace-nowrap tabular-nums">
                    {row.createdAt.toISOString().replace('T', ' ').slice(0, 19)} UTC
                  </td>
                  <td className="p-2">{row.catalogueSlug}</td>
                  <td className="p-2">{row.kind}</td>
                  <td className="max-w-md truncate p-2" title={row.source}>
                    {row.source}
                  </td>
                  <td className="p-2 text-right tabular-nums">{row.total.toLocaleString('en')}</td>
                  <td className="p-2 text-right tabular-nums">
                    {row.state === 'done'
                      ? row.inserted.toLocaleString('en')
                      : `${row.state === 'staging' ? 'checking' : 'adding'} (${row.staged.toLocaleString('en')} rows checked)`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}
