'use client';

import { previewTargetAction } from './actions';
import { applyTargetThresholdAction } from './projection-actions';
import { describeMoves, useGuardedSave } from './use-guarded-save';

export function TargetForm({ catalogueId, threshold }: { catalogueId: number; threshold: number }) {
  const { state, pending, formRef, onSubmit, declined, dialog } = useGuardedSave(
    applyTargetThresholdAction,
    previewTargetAction,
    (preview) => ({
      title: `Save threshold ${preview.threshold} and move ${preview.moved.toLocaleString('en')} items?`,
      body: describeMoves(preview, `The target picks ${preview.threshold}; saving it`),
    }),
  );
  // A result about another threshold than the current one is old news: another form changed it since.
  const shown = state && (!state.ok || state.data.change.threshold === threshold) ? state : null;
  return (
    <form
      ref={formRef}
      onSubmit={onSubmit}
      className="flex flex-col gap-2"
      aria-label="Pick the threshold for a target accuracy"
    >
      <input type="hidden" name="catalogueId" value={catalogueId} />
      {/* The threshold this page showed: target mode is refused if someone changed it since. */}
      <input type="hidden" name="expectedThreshold" value={threshold} />
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
      {dialog}
      {declined && (
        <p role="status" data-testid="target-declined" className="text-sm text-gray-700">
          Not saved: the threshold stays {threshold}.
        </p>
      )}
      {shown &&
        !declined &&
        (shown.ok ? (
          <p role="status" data-testid="target-result" className="text-sm text-green-800">
            {shown.data.sentence} Threshold {shown.data.change.oldThreshold} → {shown.data.change.threshold}:{' '}
            {shown.data.change.entered.toLocaleString('en')} entered the queue,{' '}
            {shown.data.change.left.toLocaleString('en')} left it.
          </p>
        ) : (
          <p role="alert" data-testid="target-error" className="text-sm text-red-700">
            {shown.message}
          </p>
        ))}
    </form>
  );
}
