import { Forbidden } from '@/app/_components/forbidden';
import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { countItemsByStatus } from '@/lib/catalogue-summary';
import { requirePageAccess } from '@/lib/http/page-auth';
import { findActiveModel } from '@/lib/models';
import { getThreshold, listThresholdChanges } from '@/lib/settings';
import { ThresholdForm } from './threshold-form';

export const dynamic = 'force-dynamic';

function formatTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export default async function SettingsPage() {
  const access = await requirePageAccess('settings.write', '/settings');
  if (!access.allowed) return <Forbidden permission={access.permission} role={access.actor.role} />;
  const db = getDb();
  const list = db.select().from(catalogues).orderBy(catalogues.name).all();
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Auto-accept threshold</h1>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        A prediction whose calibrated confidence reaches the threshold is accepted without review; below it, the item goes to the review
        queue. Saving routes the catalogue&apos;s model-labelled items again at once. Items a reviewer holds right now, items labelled by a
        person, and items that came with a label (routed by agreement with the model) are left as they are.
      </p>
      {list.map((catalogue) => {
        const counts = countItemsByStatus(db, catalogue.id);
        const model = findActiveModel(db, catalogue.id);
        const threshold = getThreshold(db, catalogue.id);
        const history = listThresholdChanges(db, { catalogueId: catalogue.id, limit: 20 });
        return (
          <section key={catalogue.id} className="mt-6 rounded border border-gray-200 bg-white p-4" data-testid="threshold-catalogue" data-slug={catalogue.slug}>
            <div className="flex flex-wrap items-baseline gap-x-6 gap-y-1">
              <h2 className="text-lg font-medium">{catalogue.name}</h2>
              <span className="text-sm text-gray-600">
                current threshold <strong data-testid="threshold-current" className="tabular-nums text-gray-900">{threshold}</strong>
              </span>
              <span className="text-sm text-gray-600">model {model?.name ?? 'none yet'}</span>
              <span className="text-sm text-gray-600 tabular-nums">
                {(counts.auto_accepted ?? 0).toLocaleString('en')} auto-accepted · {(counts.needs_review ?? 0).toLocaleString('en')} in the queue ·{' '}
                {(counts.reviewed ?? 0).toLocaleString('en')} reviewed · {(counts.unscored ?? 0).toLocaleString('en')} unscored
              </span>
            </div>
            <div className="mt-3">
              <ThresholdForm catalogueId={catalogue.id} threshold={threshold} />
            </div>
            <h3 className="mt-4 text-sm font-medium text-gray-700">History</h3>
            {history.length === 0 ? (
              <p className="text-sm text-gray-500">No changes yet.</p>
            ) : (
              <table className="mt-1 text-sm" data-testid="threshold-history">
                <thead>
                  <tr className="text-left text-gray-600">
                    <th className="py-1 pr-6">When</th>
                    <th className="py-1 pr-6">Who</th>
                    <th className="py-1">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {history.map((change) => (
                    <tr key={change.id} className="border-t">
                      <td className="py-1 pr-6 whitespace-nowrap tabular-nums">{formatTime(change.createdAt)}</td>
                      <td className="py-1 pr-6">{change.userEmail ?? 'a script'}</td>
                      <td className="py-1 tabular-nums">
                        {change.oldValue ?? '?'} → {change.newValue ?? '?'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      })}
    </main>
  );
}
