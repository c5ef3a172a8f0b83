'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import type { ModelStatus } from '@/db/schema/models';
import { promoteAction } from './actions';

const smallButton = 'rounded border border-gray-300 px-2 py-0.5 text-sm hover:bg-gray-100 disabled:opacity-50';

/** Promote, override a rejection, or roll back: each asks first where it undoes a decision. */
export function VersionAction({ version }: { version: { id: number; name: string; status: ModelStatus; gateReason: string | null } }) {
  const { state, pending, formRef, onSubmit } = useFormAction(promoteAction, { resetAfter: 'never' });
  const label = version.status === 'retired' ? 'Roll back to this' : version.status === 'rejected' ? 'Promote anyway' : 'Promote';
  const question =
    version.status === 'retired'
      ? `Roll back to ${version.name}? It becomes the active model and every item not labelled by a person is re-scored with it.`
      : version.status === 'rejected'
        ? `The gate rejected ${version.name}:\n${version.gateReason ?? ''}\n\nPromote it anyway?`
        : null;
  return (
    <div className="flex flex-col gap-1">
      {version.status !== 'active' && (
        <form ref={formRef} onSubmit={onSubmit} aria-label={`${label}: ${version.name}`}>
          <input type="hidden" name="modelVersionId" value={version.id} />
          <button
            type="submit"
            disabled={pending}
            className={smallButton}
            onClick={(event) => {
              if (question && !window.confirm(question)) event.preventDefault();
            }}
          >
            {pending ? 'Working…' : label}
          </button>
        </form>
      )}
      {state &&
        (state.ok ? (
          <p role="status" data-testid="promote-result" className="text-xs text-green-800">
            {state.data.promoted} is active{state.data.retired ? ` (${state.data.retired} retired)` : ''}; re-scoring queued as job #{state.data.rescoreJobId}.
          </p>
        ) : (
          <p role="alert" data-testid="promote-error" className="text-xs text-red-700">
            {state.message}
          </p>
        ))}
    </div>
  );
}
