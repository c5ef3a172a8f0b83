'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import { setThresholdAction } from './actions';

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

export function ThresholdForm({ catalogueId, threshold }: { catalogueId: number; threshold: number }) {
  const { state, pending, formRef, onSubmit } = useFormAction(setThresholdAction, { resetAfter: 'never' });
  return (
    <form ref={formRef} onSubmit={onSubmit} className="flex flex-col gap-2" aria-label="Change the threshold">
      <input type="hidden" name="catalogueId" value={catalogueId} />
      <div className="flex items-end gap-2">
        <label className="flex flex-col text-sm">
          New threshold (0 to 1, exclusive)
          {/* Not type=number: the browser would swallow a bad value instead of letting the server explain it. */}
          <input
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
      {state &&
        (state.ok ? (
          <p role="status" data-testid="threshold-result" className="text-sm text-green-800">
            {state.data.oldThreshold === state.data.threshold ? (
              <>The threshold is already {state.data.threshold}; nothing changed.</>
            ) : (
              <>
                Threshold {state.data.oldThreshold} → {state.data.threshold}:{' '}
                <span data-testid="threshold-entered">{plural(state.data.entered, 'item', 'items')}</span> entered the
                review queue, <span data-testid="threshold-left">{plural(state.data.left, 'item', 'items')}</span> left
                it
                {state.data.held > 0 && (
                  <> ({plural(state.data.held, 'item', 'items')} held by reviewers stayed where they were)</>
                )}
                .
              </>
            )}
          </p>
        ) : (
          <p role="alert" data-testid="threshold-error" className="text-sm text-red-700">
            {state.message}
          </p>
        ))}
    </form>
  );
}
