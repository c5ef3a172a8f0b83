'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import { applyTargetThresholdAction } from './projection-actions';

export function TargetForm({ catalogueId }: { catalogueId: number }) {
  const { state, pending, formRef, onSubmit } = useFormAction(applyTargetThresholdAction, { resetAfter: 'never' });
  return (
    <form
      ref={formRef}
      onSubmit={onSubmit}
      className="flex flex-col gap-2"
      aria-label="Pick the threshold for a target accuracy"
    >
      <input type="hidden" name="catalogueId" value={catalogueId} />
      <div className="flex items-end gap-2">
        <label className="flex flex-col text-sm">
          Target accuracy of auto-accepted items (%)
          <input
            name="targetPercent"
            inputMode="decimal"
            defaultValue="99"
            required
            className="mt-1 w-32 rounded border border-gray-300 px-2 py-1 tabular-nums"
          />
        </label>
        <button
          type="submit"
          disabled={pending}
          className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
        >
          {pending ? 'Saving…' : 'Pick the lowest threshold and save'}
        </button>
      </div>
      {state &&
        (state.ok ? (
          <p role="status" data-testid="target-result" className="text-sm text-green-800">
            {state.data.sentence} Threshold {state.data.change.oldThreshold} → {state.data.change.threshold}:{' '}
            {state.data.change.entered.toLocaleString('en')} entered the queue,{' '}
            {state.data.change.left.toLocaleString('en')} left it.
          </p>
        ) : (
          <p role="alert" data-testid="target-error" className="text-sm text-red-700">
            {state.message}
          </p>
        ))}
    </form>
  );
}
