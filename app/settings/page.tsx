import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { countItemsByStatus } from '@/lib/catalogue/summary';
import { requirePageAccess } from '@/lib/http/page-auth';
import { findActiveModel } from '@/lib/models/active';
import { listRetrainPolicyChanges } from '@/lib/learning/retrain-policy-history';
import { countNewHumanLabels, getRetrainPolicy } from '@/lib/learning/schedule';
import { getRoutingSettings } from '@/lib/routing/settings';
import { describeRoutingValue, listRoutingChanges, type RoutingChange } from '@/lib/routing/settings-history';
import { ProjectionSection } from './projection-section';
import { RetrainPolicyForm } from './retrain-policy-form';
import { RoutingRulesForm } from './routing-rules-form';
import { ThresholdForm } from './threshold-form';

export const dynamic = 'force-dynamic';

function formatTime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

const POLICY_KEYS: Record<string, string> = {
  enabled: 'automatic retraining',
  minNewLabels: 'new labels to retrain',
  intervalMinutes: 'timer (minutes)',
  maxHoldoutDropPoints: 'allowed holdout drop (points)',
};

const ROUTING_FIELDS: Record<RoutingChange['field'], string> = {
  threshold: 'threshold',
  perClassThresholds: 'per-class thresholds',
  auditRate: 'audit rate',
  goldRate: 'gold rate',
};

function policyValue(key: string, value: unknown): string {
  if (key === 'enabled') return value === true ? 'on' : value === false ? 'off' : '?';
  if (key === 'intervalMinutes' && value === null) return 'off';
  return typeof value === 'number' ? String(value) : '?';
}

/** Who changed which setting when, newest first, one sentence a row. */
function ChangeHistory({
  testId,
  rows,
}: {
  testId: string;
  rows: { id: number; createdAt: Date; userEmail: string | null; text: string }[];
}) {
  if (rows.length === 0) return <p className="text-sm text-gray-500">No changes yet.</p>;
  return (
    // On a phone the history scrolls inside its own box, not the page.
    <div className="mt-1 overflow-x-auto">
      <table className="text-sm" data-testid={testId}>
        <thead>
          <tr className="text-left text-gray-600">
            <th className="py-1 pr-6">When</th>
            <th className="py-1 pr-6">Who</th>
            <th className="py-1">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} className="border-t">
              <td className="py-1 pr-6 whitespace-nowrap tabular-nums">{formatTime(row.createdAt)}</td>
              <td className="py-1 pr-6">{row.userEmail ?? 'a script'}</td>
              <td className="py-1 tabular-nums">{row.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default async function SettingsPage() {
  await requirePageAccess('settings.write', '/settings');
  const db = getDb();
  const list = await db.select().from(catalogues).orderBy(catalogues.name);
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Settings</h1>
      <h2 className="mt-2 text-lg font-medium">Auto-accept threshold</h2>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        A prediction whose calibrated confidence reaches the threshold of its predicted class (the class&apos;s
        override, else the global threshold) is accepted without review; below it, the item goes to the review queue.
        The audit rate sends that share of the items that would be accepted to review anyway, drawn at random and not
        marked for reviewers, so their reviews measure the accuracy of what is accepted. The gold rate is the share of
        claims that hand a reviewer a gold item (known label, not marked either), to measure reviewers. Saving routes
        the catalogue&apos;s model-labelled items again at once. Items a reviewer holds right now, items labelled by a
        person, items that came with a label (routed by agreement with the model) and evaluation items are left as they
        are.
      </p>
      <h2 className="mt-3 text-lg font-medium">Retrain policy</h2>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        The worker fine-tunes a catalogue&apos;s model once enough new human labels have arrived since the last
        training, or on a timer (only when at least one new label arrived), never two trainings at once. A candidate
        replaces the active model only if its holdout accuracy drops by no more than the allowed margin and its accuracy
        on held-out human labels improves. Admins can also train at once on the Models page.
      </p>
      {await Promise.all(
        list.map(async (catalogue) => {
          const counts = await countItemsByStatus(db, catalogue.id);
          const model = await findActiveModel(db, catalogue.id);
          const routing = await getRoutingSettings(db, catalogue.id);
          const threshold = routing.threshold;
          const history = await listRoutingChanges(db, { catalogueId: catalogue.id, limit: 20 });
          const policy = await getRetrainPolicy(db, catalogue.id);
          const policyHistory = await listRetrainPolicyChanges(db, { catalogueId: catalogue.id, limit: 20 });
          const newLabels = (await countNewHumanLabels(db, catalogue.id)).count;
          return (
            <section
              key={catalogue.id}
              className="mt-6 rounded border border-gray-200 bg-white p-4"
              data-testid="threshold-catalogue"
              data-slug={catalogue.slug}
            >
              <div className="flex flex-wrap items-baseline gap-x-6 gap-y-1">
                <h2 className="text-lg font-medium">{catalogue.name}</h2>
                <span className="text-sm text-gray-600">
                  current threshold{' '}
                  <strong data-testid="threshold-current" className="tabular-nums text-gray-900">
                    {threshold}
                  </strong>
                </span>
                <span className="text-sm text-gray-600">model {model?.name ?? 'none yet'}</span>
                <span className="text-sm text-gray-600 tabular-nums">
                  {(counts.auto_accepted ?? 0).toLocaleString('en')} auto-accepted ·{' '}
                  {(counts.needs_review ?? 0).toLocaleString('en')} in the queue ·{' '}
                  {(counts.reviewed ?? 0).toLocaleString('en')} reviewed · {(counts.unscored ?? 0).toLocaleString('en')}{' '}
                  unscored
                </span>
              </div>
              <div className="mt-3">
                <ThresholdForm catalogueId={catalogue.id} threshold={threshold} />
              </div>
              <div className="mt-4" data-testid="routing-rules" data-slug={catalogue.slug}>
                <h3 className="font-medium">Per-class thresholds, audit sample and gold items</h3>
                <RoutingRulesForm
                  catalogueId={catalogue.id}
                  classNames={catalogue.classNames}
                  perClassThresholds={routing.perClassThresholds}
                  auditRate={routing.auditRate}
                  goldRate={routing.goldRate}
                />
              </div>
              <h3 className="mt-4 text-sm font-medium text-gray-700">History</h3>
              <ChangeHistory
                testId="threshold-history"
                rows={history.map((change) => ({
                  ...change,
                  text: `${ROUTING_FIELDS[change.field]}: ${describeRoutingValue(change.oldValue, catalogue.classNames)} → ${describeRoutingValue(change.newValue, catalogue.classNames)}`,
                }))}
              />
              <div className="mt-5 border-t pt-4" data-testid="retrain-policy" data-slug={catalogue.slug}>
                <div className="flex flex-wrap items-baseline gap-x-6 gap-y-1">
                  <h3 className="font-medium">Retrain policy</h3>
                  <span className="text-sm text-gray-600 tabular-nums" data-testid="policy-new-labels">
                    {newLabels.toLocaleString('en')} new human {newLabels === 1 ? 'label' : 'labels'} since the last
                    training
                  </span>
                </div>
                <div className="mt-2">
                  <RetrainPolicyForm catalogueId={catalogue.id} policy={policy} />
                </div>
                <h4 className="mt-3 text-sm font-medium text-gray-700">History</h4>
                <ChangeHistory
                  testId="policy-history"
                  rows={policyHistory.map((change) => ({
                    ...change,
                    text: `${POLICY_KEYS[change.key] ?? change.key}: ${policyValue(change.key, change.oldValue)} → ${policyValue(change.key, change.newValue)}`,
                  }))}
                />
              </div>
              <ProjectionSection catalogueId={catalogue.id} threshold={threshold} />
            </section>
          );
        }),
      )}
    </main>
  );
}
