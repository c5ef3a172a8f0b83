'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import type { FullRetrainPolicy } from '@/lib/learning/schedule';
import { setRetrainPolicyAction } from './actions';

const field = 'mt-1 w-28 rounded border border-gray-300 px-2 py-1 tabular-nums';

const LABELS: Record<string, string> = {
  enabled: 'automatic retraining',
  minNewLabels: 'new labels to retrain',
  intervalMinutes: 'timer (minutes)',
  maxHoldoutDropPoints: 'allowed holdout drop (points)',
};

export function RetrainPolicyForm({ catalogueId, policy }: { catalogueId: number; policy: FullRetrainPolicy }) {
  const { state, pending, formRef, onSubmit } = useFormAction(setRetrainPolicyAction, { resetAfter: 'never' });
  const version = JSON.stringify(policy);
  // A result about another policy than the current one is old news: another form changed it since.
  const keys = Object.keys(policy) as (keyof FullRetrainPolicy)[];
  const shown = state && (!state.ok || keys.every((key) => state.data.policy[key] === policy[key])) ? state : null;
  return (
    <form ref={formRef} onSubmit={onSubmit} className="flex flex-col gap-2" aria-label="Retrain policy">
      <input type="hidden" name="catalogueId" value={catalogueId} />
      {/* The policy this form started from: the save is refused if someone changed it since. */}
      <input type="hidden" name="expected" value={version} />
      {/* Keyed by the current policy: after any save on the page the fields show it. */}
      <div key={version} className="flex flex-wrap items-end gap-4">
        <label className="flex items-center gap-2 self-center text-sm">
          <input type="checkbox" name="enabled" defaultChecked={policy.enabled} className="h-4 w-4" />
          Retrain automatically
        </label>
        {/* Text fields, not type=number: the browser would swallow a bad value instead of letting the server explain it. */}
        <label className="flex flex-col text-sm">
          after this many new human labels
          <input
            name="minNewLabels"
            inputMode="numeric"
            defaultValue={policy.minNewLabels}
            required
            className={field}
          />
        </label>
        <label className="flex flex-col text-sm">
          or every N minutes (empty: no timer)
          <input
            name="intervalMinutes"
            inputMode="numeric"
            defaultValue={policy.intervalMinutes ?? ''}
            placeholder="off"
            className={field}
          />
        </label>
        <label className="flex flex-col text-sm">
          allowed holdout accuracy drop (points)
          <input
            name="maxHoldoutDropPoints"
            inputMode="decimal"
            defaultValue={policy.maxHoldoutDropPoints}
            required
            className={field}
          />
        </label>
        <button
          type="submit"
          disabled={pending}
          className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
        >
          {pending ? 'Saving…' : 'Save policy'}
        </button>
      </div>
      {shown &&
        (shown.ok ? (
          <p role="status" data-testid="policy-result" className="text-sm text-green-800">
            {shown.data.changed.length === 0
              ? 'Nothing changed.'
              : `Saved: ${shown.data.changed.map((key) => LABELS[key] ?? key).join(', ')}.`}
          </p>
        ) : (
          <p role="alert" data-testid="policy-error" className="text-sm text-red-700">
            {shown.message}
          </p>
        ))}
    </form>
  );
}
