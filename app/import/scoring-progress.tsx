'use client';

import { useEffect, useState } from 'react';
import { count, type ImportResponse, type ImportStatusResponse } from './import-api';

const POLL_MS = 2000;

/** After an import: follows the worker's scoring of the new items until every one is scored. */
export function ScoringProgress({ result }: { result: ImportResponse }) {
  const [status, setStatus] = useState<ImportStatusResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const finished = status !== null && (status.items.unscored === 0 || status.activeModel === null);

  useEffect(() => {
    if (finished) return;
    let cancelled = false;
    const poll = async () => {
      try {
        const response = await fetch(`/api/v1/imports/${result.importId}`, { cache: 'no-store' });
        const body = (await response.json()) as ImportStatusResponse & { error?: { message: string } };
        if (cancelled) return;
        if (!response.ok) setError(body.error?.message ?? `The server answered ${response.status}.`);
        else setStatus(body);
      } catch {
        if (!cancelled) setError('Could not reach the server to follow the scoring.');
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [result.importId, finished]);

  if (result.inserted === 0) return null;
  if (error) return <p className="text-sm text-red-700">{error}</p>;
  if (!status) return <p className="text-sm text-gray-600">Checking the scoring…</p>;
  if (status.activeModel === null) {
    return (
      <p data-testid="scoring-progress" className="text-sm text-gray-700">
        This catalogue has no model yet, so its items stay unscored (and out of the review queue) until one is
        registered for it: train one with <code>npm run train</code>, then run{' '}
        <code>{`npm run register-model -- --catalogue ${result.catalogue.slug} --model <model dir>`}</code>.
      </p>
    );
  }
  const { unscored, auto_accepted: accepted, needs_review: queued } = status.items;
  const total = result.inserted;
  const scored = total - unscored;
  return (
    <div data-testid="scoring-progress" className="flex flex-col gap-1 text-sm">
      <progress className="h-2 w-80" max={total} value={scored} />
      {unscored > 0 ? (
        <p>
          Scoring with {status.activeModel}: {scored.toLocaleString('en')} of {count(total, 'item', 'items')} scored…
        </p>
      ) : (
        <p data-testid="scoring-done">
          Scored all {count(total, 'item', 'items')} with {status.activeModel}: {accepted.toLocaleString('en')}{' '}
          auto-accepted, {queued.toLocaleString('en')} sent to review.
        </p>
      )}
    </div>
  );
}
