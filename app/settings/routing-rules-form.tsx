'use client';

import { previewRoutingRulesAction, setRoutingRulesAction } from './actions';
import { describeMoves, useGuardedSave } from './use-guarded-save';

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Per-class overrides, the audit rate and the gold rate of one catalogue, saved together. */
export function RoutingRulesForm(props: {
  catalogueId: number;
  classNames: string[];
  perClassThresholds: Record<string, number>;
  auditRate: number;
  goldRate: number;
}) {
  const { state, pending, formRef, onSubmit, declined, dialog } = useGuardedSave(
    setRoutingRulesAction,
    previewRoutingRulesAction,
    (preview) => ({
      title: `Move ${preview.moved.toLocaleString('en')} items?`,
      body: describeMoves(preview, 'Saving these rules'),
    }),
  );
  const loaded = { perClassThresholds: props.perClassThresholds, auditRate: props.auditRate, goldRate: props.goldRate };
  const version = JSON.stringify(loaded);
  // A result about other values than the current ones is old news: another form changed them since.
  const shown =
    state &&
    (!state.ok ||
      version ===
        JSON.stringify({
          perClassThresholds: state.data.new.perClassThresholds,
          auditRate: state.data.new.auditRate,
          goldRate: state.data.new.goldRate,
        }))
      ? state
      : null;
  return (
    <form ref={formRef} onSubmit={onSubmit} className="flex flex-col gap-2" aria-label="Change the routing rules">
      <input type="hidden" name="catalogueId" value={props.catalogueId} />
      {/* The values this form started from: the save is refused if someone changed them since. */}
      <input type="hidden" name="expected" value={version} />
      {/* Keyed by the current values: after any save on the page the boxes show them. */}
      <fieldset key={version}>
        <legend className="text-sm text-gray-700">Per-class thresholds (empty: the global threshold applies)</legend>
        <div className="mt-1 grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-5">
          {props.classNames.map((name, index) => (
            <label key={index} className="flex flex-col text-sm">
              {name}
              {/* Not type=number: the browser would swallow a bad value instead of letting the server explain it. */}
              <input
                name={`class-${index}`}
                inputMode="decimal"
                defaultValue={props.perClassThresholds[String(index)] ?? ''}
                className="mt-0.5 w-24 rounded border border-gray-300 px-2 py-1 tabular-nums"
              />
            </label>
          ))}
        </div>
      </fieldset>
      <div key={version} className="flex flex-wrap items-end gap-4">
        <label className="flex flex-col text-sm">
          Audit rate (0 to 0.5)
          <input
            name="auditRate"
            inputMode="decimal"
            defaultValue={props.auditRate}
            required
            className="mt-1 w-24 rounded border border-gray-300 px-2 py-1 tabular-nums"
          />
        </label>
        <label className="flex flex-col text-sm">
          Gold rate (0 to 0.5)
          <input
            name="goldRate"
            inputMode="decimal"
            defaultValue={props.goldRate}
            required
            className="mt-1 w-24 rounded border border-gray-300 px-2 py-1 tabular-nums"
          />
        </label>
        <button
          type="submit"
          disabled={pending}
          className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
        >
          {pending ? 'Saving…' : 'Save rules and re-route'}
        </button>
      </div>
      {dialog}
      {declined && (
        <p role="status" data-testid="routing-declined" className="text-sm text-gray-700">
          Not saved: the rules stay as they were.
        </p>
      )}
      {shown &&
        !declined &&
        (shown.ok ? (
          <p role="status" data-testid="routing-result" className="text-sm text-green-800">
            {shown.data.changed.length === 0 ? (
              <>Nothing changed.</>
            ) : (
              <>
                Saved: <span data-testid="routing-entered">{plural(shown.data.entered, 'item', 'items')}</span> entered
                the review queue, <span data-testid="routing-left">{plural(shown.data.left, 'item', 'items')}</span>{' '}
                left it
                {shown.data.held > 0 && (
                  <> ({plural(shown.data.held, 'item', 'items')} held by reviewers stayed where they were)</>
                )}
                ; {plural(shown.data.auditWaiting, 'audit item waits', 'audit items wait')} for review.
              </>
            )}
          </p>
        ) : (
          <p role="alert" data-testid="routing-error" className="text-sm text-red-700">
            {shown.message}
          </p>
        ))}
    </form>
  );
}
