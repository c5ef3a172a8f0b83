'use client';

import { useState } from 'react';
import type { EvalRole, ItemStatus, LabelSource } from '@/db/schema';
import type { ItemQuery } from '@/lib/catalogue/browse';

// Typed as records over the schema's unions, so a new value fails to compile here.
export const STATUS_LABELS: Record<ItemStatus, string> = {
  unscored: 'Unscored',
  auto_accepted: 'Auto-accepted',
  needs_review: 'Needs review',
  reviewed: 'Reviewed',
};
const SOURCES: Record<LabelSource, string> = { model: 'Model', human: 'Human', import: 'Import' };
const EVAL_ROLES: Record<EvalRole, string> = { holdout: 'Holdout', gold: 'Gold' };

type Patch = Record<string, string | undefined>;

/**
 * The filter controls. Selects apply at once; the confidence bounds apply on Enter or when the
 * field loses focus. Remounted (by key) whenever the URL changes, so the inputs show its values.
 */
export function ItemFilters({
  query,
  classNames,
  showEvalRole,
  onChange,
}: {
  query: ItemQuery;
  classNames: string[];
  /** Off for readers who may not see evaluation items: the filter could only match nothing. */
  showEvalRole: boolean;
  onChange: (patch: Patch) => void;
}) {
  const [min, setMin] = useState(query.minConfidence?.toString() ?? '');
  const [max, setMax] = useState(query.maxConfidence?.toString() ?? '');
  const applyConfidence = () => {
    if (min !== (query.minConfidence?.toString() ?? '') || max !== (query.maxConfidence?.toString() ?? ''))
      onChange({ minConfidence: min.trim(), maxConfidence: max.trim() });
  };
  const classOptions = classNames.map((name, index) => ({ value: String(index), label: name }));
  const filtered = [
    query.status,
    query.predicted,
    query.label,
    query.labelSource,
    query.evalRole,
    query.minConfidence,
    query.maxConfidence,
  ].some((v) => v !== undefined);

  return (
    <form
      className="mt-4 flex flex-wrap items-end gap-3 rounded border border-gray-200 bg-white p-3 text-sm shadow-sm"
      aria-label="Filters"
      onSubmit={(e) => {
        e.preventDefault();
        applyConfidence();
      }}
    >
      <Select
        label="Status"
        testId="filter-status"
        value={query.status}
        options={Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label }))}
        onChange={(v) => onChange({ status: v })}
      />
      <Select
        label="Model says"
        testId="filter-predicted"
        value={query.predicted?.toString()}
        options={classOptions}
        onChange={(v) => onChange({ predicted: v })}
      />
      <Select
        label="Current label"
        testId="filter-label"
        value={query.label?.toString()}
        options={classOptions}
        onChange={(v) => onChange({ label: v })}
      />
      <Select
        label="Label from"
        testId="filter-label-source"
        value={query.labelSource}
        options={Object.entries(SOURCES).map(([value, label]) => ({ value, label }))}
        onChange={(v) => onChange({ labelSource: v })}
      />
      {showEvalRole && (
        <Select
          label="Eval role"
          testId="filter-eval-role"
          value={query.evalRole}
          options={Object.entries(EVAL_ROLES).map(([value, label]) => ({ value, label }))}
          onChange={(v) => onChange({ evalRole: v })}
        />
      )}
      <fieldset className="flex items-end gap-1">
        <legend className="mb-1 text-xs text-gray-600">Confidence (0-1)</legend>
        <input
          className="w-20 rounded border px-1 py-0.5"
          type="number"
          inputMode="decimal"
          min={0}
          max={1}
          step={0.01}
          placeholder="min"
          aria-label="Minimum confidence"
          value={min}
          onChange={(e) => setMin(e.target.value)}
          onBlur={applyConfidence}
          data-testid="filter-min-confidence"
        />
        <span className="pb-1">-</span>
        <input
          className="w-20 rounded border px-1 py-0.5"
          type="number"
          inputMode="decimal"
          min={0}
          max={1}
          step={0.01}
          placeholder="max"
          aria-label="Maximum confidence"
          value={max}
          onChange={(e) => setMax(e.target.value)}
          onBlur={applyConfidence}
          data-testid="filter-max-confidence"
        />
      </fieldset>
      {/* Lets Enter in a confidence field submit the form. */}
      <button type="submit" className="sr-only">
        Apply
      </button>
      {filtered && (
        <button
          type="button"
          className="ml-auto rounded border border-gray-300 px-2 py-1 hover:bg-gray-100"
          onClick={() =>
            onChange({
              status: undefined,
              predicted: undefined,
              label: undefined,
              labelSource: undefined,
              evalRole: undefined,
              minConfidence: undefined,
              maxConfidence: undefined,
            })
          }
          data-testid="filter-clear"
        >
          Clear filters
        </button>
      )}
    </form>
  );
}

function Select(props: {
  label: string;
  testId: string;
  value: string | undefined;
  options: { value: string; label: string }[];
  onChange: (value: string | undefined) => void;
}) {
  return (
    <label className="flex flex-col gap-1">
      <span className="text-xs text-gray-600">{props.label}</span>
      <select
        className="rounded border px-1 py-0.5"
        value={props.value ?? ''}
        onChange={(e) => props.onChange(e.target.value || undefined)}
        data-testid={props.testId}
      >
        <option value="">Any</option>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
