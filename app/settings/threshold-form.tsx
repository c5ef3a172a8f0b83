'use client';

import { previewThresholdAction, setThresholdAction } from './actions';
import { describeMoves, useGuardedSave } from './use-guarded-save';

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

export function ThresholdForm({ catalogueId, threshold }: { catalogueId: number; threshold: number }) {
  const { state, pending, formRef, onSubmit, declined, dialog } = useGuardedSave(
    setThresholdAction,
    previewThresholdAction,
    (preview) => ({
      title: `Move ${preview.moved.toLocaleString('en')} items?`,
      body: describeMoves(preview, 'Saving this threshold'),
    }),
  );
  // A result about another value than the current one is old news: another form changed it since.
  const shown = state && (!state.ok || state.data.threshold === threshold) ? state : null;
  return (
    <form ref={formRef} onSubmit={onSubmit} className="flex flex-col gap-2" aria-label="Change the threshold">
      <input type="hidden" name="catalogueId" value={catalogueId} />
      {/* The threshold this form started from: the save is refused if someone changed it since. */}
      <input type="hidden" name="expectedThreshold" value={threshold} />
      <div className="flex items-end gap-2">
        <label className="flex flex-col text-sm">
          New threshold (0 to 1, exclusive)
          {/* Not type=number: the browser would swallow a bad value instead of letting the server explain it. */}
          {/* Keyed by the current value: after any save on the page the box shows it, not what was typed before. */}
          <input
            key={threshold}
            name="threshold"
            inputMode="decimal"
            defaultValue={threshold}
            required
            className="mt-1 w-32 rounded border border-gray-300 px-2 py-1 tabular-nums"
          />
        </label>
        <button
          type="submit"
          disabled={pending}
          className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
        >
          {pending ? 'Saving…' : 'Save and re-route'}
        </button>
      </div>
      {dialog}
      {declined && (
        <p role="status" data-testid="threshold-declined" className="text-sm text-gray-700">
          Not saved: the threshold stays {threshold}.
        </p>
      )}
      {shown &&
        !declined &&
        (shown.ok ? (
          <p role="status" data-testid="threshold-result" className="text-sm text-green-800">
            {shown.data.oldThreshold === shown.data.threshold ? (
              <>The threshold is already {shown.data.threshold}; nothing changed.</>
            ) : (
              <>
                Threshold {shown.data.oldThreshold} → {shown.data.threshold}:{' '}
                <span data-testid="threshold-entered">{plural(shown.data.entered, 'item', 'items')}</span> entered the
                review queue, <span data-testid="threshold-left">{plural(shown.data.left, 'item', 'items')}</span> left
                it
                {shown.data.held > 0 && (
                  <> ({plural(shown.data.held, 'item', 'items')} held by reviewers stayed where they were)</>
                )}
                .
              </>
            )}
          </p>
        ) : (
          <p role="alert" data-testid="threshold-error" className="text-sm text-red-700">
            {shown.message}
          </p>
        ))}
    </form>
  );
}
