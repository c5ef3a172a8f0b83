'use client';

import { useConfirm, type ConfirmOptions } from '@/app/_components/confirm-dialog';
import { useFormAction } from '@/app/_components/use-form-action';
import type { ModelStatus } from '@/db/schema/models';
import { promoteAction } from './actions';

const smallButton =
  'rounded border border-gray-300 px-2 py-0.5 text-sm hover:bg-gray-100 disabled:opacity-50';

type VersionView = { id: number; name: string; status: ModelStatus; gateReason: string | null };

const RESCORE = 'Every item not labelled by a person is then re-scored with it and routed again; the worker does this in the background.';

/** The question each action asks: every change of the active model re-scores the catalogue. */
function question(version: VersionView): ConfirmOptions {
  if (version.status === 'retired')
    return {
      title: `Roll back to ${version.name}?`,
      body: `${version.name} becomes the active model again. ${RESCORE} Its earlier predictions are reused.`,
      confirmLabel: 'Roll back',
    };
  if (version.status === 'rejected')
    return {
      title: `Promote ${version.name} against the gate?`,
      body: (
        <>
          <span className="block">The gate rejected it: {version.gateReason ?? 'no reason was recorded.'}</span>
          <span className="mt-2 block">{RESCORE}</span>
        </>
      ),
      confirmLabel: 'Promote anyway',
      tone: 'danger',
    };
  return { title: `Promote ${version.name}?`, body: `${version.name} becomes the active model. ${RESCORE}`, confirmLabel: 'Promote' };
}

/** Promote, override a rejection, or roll back, each after a confirmation in the app's dialog. */
export function VersionAction({ version }: { version: VersionView }) {
  const { state, pending, formRef, submit } = useFormAction(promoteAction, { resetAfter: 'never' });
  const [confirm, dialog] = useConfirm();
  const label = version.status === 'retired' ? 'Roll back to this' : version.status === 'rejected' ? 'Promote anyway' : 'Promote';
  return (
    <div className="flex flex-col gap-1">
      {version.status !== 'active' && (
        <form
          ref={formRef}
          onSubmit={(event) => {
            event.preventDefault();
            const data = new FormData(event.currentTarget);
            void confirm(question(version)).then((yes) => {
              if (yes) submit(data);
            });
          }}
          aria-label={`${label}: ${version.name}`}
        >
          <input type="hidden" name="modelVersionId" value={version.id} />
          <button type="submit" disabled={pending} className={smallButton}>
            {pending ? 'Working…' : label}
          </button>
        </form>
      )}
      {dialog}
      {state &&
        (state.ok ? (
          <p role="status" data-testid="promote-result" className="text-xs text-green-800">
            {state.data.promoted} is active{state.data.retired ? ` (${state.data.retired} retired)` : ''}; re-scoring queued as job #
            {state.data.rescoreJobId}.
          </p>
        ) : (
          <p role="alert" data-testid="promote-error" className="text-xs text-red-700">
            {state.message}
          </p>
        ))}
    </div>
  );
}
