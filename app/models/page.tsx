import Link from 'next/link';
import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { can } from '@/lib/auth/permissions';
import { requirePageAccess } from '@/lib/http/page-auth';
import type { Actor } from '@/lib/auth/permissions';
import { listJobs, type JobSummary } from '@/lib/jobs/list';
import { countNewHumanLabels, getRetrainPolicy } from '@/lib/learning/schedule';
import { listModelVersions, type Accuracy, type ModelVersionSummary } from '@/lib/models/versions';
import { Term } from '@/app/_components/term';
import { TERMS } from '@/app/_components/terms';
import { mergeShownJobs, SHOWN_JOBS } from './shown-jobs';
import { TrainingPanel, type TrainingJobView } from './training-panel';
import { VersionAction } from './version-action';

export const dynamic = 'force-dynamic';

function jobView(job: JobSummary): TrainingJobView {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    outcome: job.outcome,
    reason: job.reason,
    requestedBy: job.requestedBy,
    attempts: job.attempts,
    leaseExpiries: job.leaseExpiries,
    maxAttempts: job.maxAttempts,
    progress: job.progress,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** The catalogue's trainings and re-scorings, as the panel polls them. */
async function shownJobs(db: ReturnType<typeof getDb>, actor: Actor, slug: string): Promise<TrainingJobView[]> {
  const read = async (kind: 'train' | 'score') =>
    (await listJobs(db, { actor, catalogue: slug, kind, limit: SHOWN_JOBS })).map(jobView);
  return mergeShownJobs(await read('train'), await read('score'));
}

/** What to do for a catalogue without any model version. */
function NoModel({ slug, canManage }: { slug: string; canManage: boolean }) {
  return (
    <div className="mt-2 max-w-3xl text-sm text-gray-700" data-testid="no-model">
      <p>
        <strong>No model yet.</strong> This catalogue&apos;s items wait unscored, out of the review queue, until it has
        one.
      </p>
      {canManage ? (
        <ol className="mt-1 list-decimal pl-5">
          <li>
            Train a model with the same classes:{' '}
            <code className="break-all">npm run train -- --arch cnn --out models/{slug}</code> (Fashion-MNIST; add{' '}
            <code>--data mnist-digits</code> for digits), or use a model folder you already have, such as{' '}
            <code>models/production</code> for Fashion-MNIST&apos;s classes.
          </li>
          <li>
            Register it as the first version:{' '}
            <code className="break-all">{`npm run register-model -- --catalogue ${slug} --model models/${slug}`}</code>
            .
          </li>
          <li>
            The worker then scores the items; reviewers get the unsure ones, and <em>Train now</em> appears here to
            fine-tune on their labels.
          </li>
        </ol>
      ) : (
        <p className="mt-1">An admin registers its first model (npm run register-model); its versions then show here.</p>
      )}
    </div>
  );
}

function formatTime(date: Date | null): string {
  return date ? date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—';
}
const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;

function AccuracyCell({ own, parent, testId, measuredIn }: { own: Accuracy | null; parent: Accuracy | null; testId: string; measuredIn?: string | null }) {
  if (!own) return <td className="px-2 py-1 text-gray-400">—</td>;
  const delta = parent ? (own.accuracy - parent.accuracy) * 100 : null;
  return (
    <td className="px-2 py-1 tabular-nums" data-testid={testId}>
      <span className="font-medium">{pct(own.accuracy)}</span>
      <span className="text-gray-500"> of {own.total.toLocaleString('en')}</span>
      {measuredIn && <div className="text-xs text-gray-500">measured beside {measuredIn}</div>}
      {parent && delta !== null && (
        <div className={`text-xs ${delta > 0 ? 'text-green-700' : delta < 0 ? 'text-red-700' : 'text-gray-500'}`}>
          parent {pct(parent.accuracy)} ({delta >= 0 ? '+' : ''}
          {delta.toFixed(2)} pts)
        </div>
      )}
    </td>
  );
}

const STATUS_STYLE: Record<string, string> = {
  active: 'bg-green-100 text-green-900',
  candidate: 'bg-blue-100 text-blue-900',
  rejected: 'bg-red-50 text-red-800',
  retired: 'bg-gray-100 text-gray-700',
};

function VersionRow({ version, canManage }: { version: ModelVersionSummary; canManage: boolean }) {
  return (
    <tr className={`border-t align-top ${version.status === 'active' ? 'bg-green-50/50' : ''}`} data-testid="model-version" data-status={version.status} data-name={version.name}>
      <td className="px-2 py-1">
        <div className="font-mono text-xs">{version.name}</div>
        <div className="text-xs text-gray-500">
          {version.arch} · <Term explanation={TERMS.temperature}>T</Term> = {version.temperature.toFixed(3)}
        </div>
        <div className="text-xs" data-testid="model-download">
          download{' '}
          <a className="underline" href={`/api/v1/models/${version.id}/download?format=onnx`} download>
            ONNX
          </a>{' '}
          ·{' '}
          {version.int8 && (
            <>
              <a className="underline" href={`/api/v1/models/${version.id}/download?format=onnx-int8`} download>
                ONNX int8
              </a>{' '}
              ·{' '}
            </>
          )}
          <a className="underline" href={`/api/v1/models/${version.id}/download?format=tfjs`} download>
            tfjs
          </a>
        </div>
      </td>
      <td className="px-2 py-1">
        <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STATUS_STYLE[version.status] ?? ''}`} data-testid="model-status">
          {version.status === 'active' ? '● active' : version.status}
        </span>
      </td>
      <AccuracyCell own={version.holdout} parent={version.parentHoldout} testId="holdout-accuracy" measuredIn={version.measuredIn} />
      <td className="px-2 py-1 tabular-nums">
        {version.ece !== null ? pct(version.ece) : '—'}
        {version.eceOn === 'validation' && <div className="text-xs text-gray-500">on validation</div>}
      </td>
      <AccuracyCell own={version.heldOutHuman} parent={version.parentHeldOutHuman} testId="human-accuracy" />
      <td className="px-2 py-1 tabular-nums">
        {version.humanLabelsUsed !== null ? (
          <>
            {version.humanLabelsUsed.toLocaleString('en')}
            {version.replayUsed !== null && (
              <div className="text-xs text-gray-500">
                + {version.replayUsed.toLocaleString('en')} <Term explanation={TERMS.replay}>replay</Term>
              </div>
            )}
          </>
        ) : version.validationAccuracy !== null ? (
          <span className="text-xs text-gray-500">no human labels: trained offline (npm run train); validation {pct(version.validationAccuracy)}</span>
        ) : (
          '—'
        )}
      </td>
      <td className="px-2 py-1 font-mono text-xs">{version.parentName ?? '—'}</td>
      <td className="px-2 py-1 text-xs whitespace-nowrap tabular-nums">
        {formatTime(version.createdAt)}
        {version.promotedAt && <div className="text-gray-500">promoted {formatTime(version.promotedAt)}</div>}
      </td>
      <td className="max-w-xs px-2 py-1 text-xs text-gray-700" data-testid="gate-reason">
        {version.gateReason ?? '—'}
      </td>
      {canManage && (
        <td className="px-2 py-1">
          <VersionAction version={{ id: version.id, name: version.name, status: version.status, gateReason: version.gateReason }} />
        </td>
      )}
    </tr>
  );
}

/** Model versions per catalogue: admins and ops read; admins promote, roll back and train. */
export default async function ModelsPage() {
  const access = await requirePageAccess('dashboards.read', '/models');
  const { actor } = access;
  const canManage = can(actor.role, 'models.manage');
  const db = getDb();
  const list = await db.select().from(catalogues).orderBy(catalogues.name);
  return (
    <main className="mx-auto max-w-7xl p-6">
      <h1 className="text-2xl font-semibold">Models</h1>
      <p className="mt-1 max-w-3xl text-sm text-gray-600">
        Every version of each catalogue&apos;s model. A fine-tuned candidate is measured against its parent on the holdout (trusted labels no
        model trains on) and on human labels held out from its training; it is promoted only if the holdout does not drop by more than the
        allowed margin and the held-out human labels improve.
        {canManage && (
          <>
            {' '}
            Promoting or rolling back re-scores every item not labelled by a person. The retrain policy is on the{' '}
            <Link href="/settings" className="underline">
              settings
            </Link>{' '}
            page.
          </>
        )}
      </p>
      {await Promise.all(list.map(async (catalogue) => {
        const { versions } = await listModelVersions(db, { actor, catalogue: catalogue.slug });
        const policy = await getRetrainPolicy(db, catalogue.id);
        const { count } = await countNewHumanLabels(db, catalogue.id);
        const jobs: TrainingJobView[] = canManage ? await shownJobs(db, actor, catalogue.slug) : [];
        return (
          <section key={catalogue.id} className="mt-6 rounded border border-gray-200 bg-white p-4" data-testid="models-catalogue" data-slug={catalogue.slug}>
            <div className="flex flex-wrap items-baseline gap-x-6 gap-y-1">
              <h2 className="text-lg font-medium">{catalogue.name}</h2>
              <span className="text-sm text-gray-600" data-testid="new-labels">
                {count.toLocaleString('en')} new human {count === 1 ? 'label' : 'labels'} since the last training ·{' '}
                {policy.enabled
                  ? `retrains automatically at ${policy.minNewLabels.toLocaleString('en')}${policy.intervalMinutes !== null ? ` or every ${policy.intervalMinutes} minutes` : ''}`
                  : 'automatic retraining off'}
              </span>
            </div>
            {versions.length === 0 ? (
              <NoModel slug={catalogue.slug} canManage={canManage} />
            ) : (
              <div className="mt-2 overflow-x-auto">
                <table className="w-full text-left text-sm" data-testid="model-versions">
                  <thead>
                    <tr className="text-xs text-gray-600">
                      <th className="px-2 py-1 font-medium">Version</th>
                      <th className="px-2 py-1 font-medium">Status</th>
                      <th className="px-2 py-1 font-medium">
                        <Term explanation={TERMS.holdout}>Holdout</Term> accuracy
                      </th>
                      <th className="px-2 py-1 font-medium">
                        <Term explanation={TERMS.ece}>ECE</Term>
                      </th>
                      <th className="px-2 py-1 font-medium">
                        <Term explanation={TERMS.heldOutHuman}>Held-out human labels</Term>
                      </th>
                      <th className="px-2 py-1 font-medium">Human labels used</th>
                      <th className="px-2 py-1 font-medium">Parent</th>
                      <th className="px-2 py-1 font-medium">Created</th>
                      <th className="px-2 py-1 font-medium">
                        <Term explanation={TERMS.gate}>Gate</Term>
                      </th>
                      {canManage && <th className="px-2 py-1 font-medium">Action</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {versions.map((version) => (
                      <VersionRow key={version.id} version={version} canManage={canManage} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {canManage && versions.length > 0 && <TrainingPanel catalogueId={catalogue.id} slug={catalogue.slug} initialJobs={jobs} />}
          </section>
        );
      }))}
    </main>
  );
}
