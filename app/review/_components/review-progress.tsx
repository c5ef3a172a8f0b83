'use client';

import { useCallback, useEffect, useState } from 'react';
import { callApi } from './review-api';

interface ProgressAnswer {
  left: number;
  decidedInSession: number;
  sessionSince: string;
}

const SESSION_KEY = 'loupe.review.sessionStart';

/**
 * The start of the reviewer's session: the first time this browser tab opened a review page.
 * sessionStorage is per tab, so a reload or a switch between focus and grid keeps counting and
 * a new tab (or a new sign-in in a new tab) starts from zero.
 */
function sessionStart(): number {
  try {
    const stored = Number(window.sessionStorage.getItem(SESSION_KEY));
    if (Number.isFinite(stored) && stored > 0) return stored;
    const now = Date.now();
    window.sessionStorage.setItem(SESSION_KEY, String(now));
    return now;
  } catch {
    return Date.now();
  }
}

export function useReviewProgress(catalogueSlug: string): { progress: ProgressAnswer | null; refresh: () => void } {
  const [progress, setProgress] = useState<ProgressAnswer | null>(null);
  const refresh = useCallback(() => {
    const query = new URLSearchParams({ catalogue: catalogueSlug, since: String(sessionStart()) });
    void callApi<ProgressAnswer>(`/api/v1/queue/progress?${query}`, { retries: 1 }).then((result) => {
      if (result.ok) setProgress(result.data);
    });
  }, [catalogueSlug]);
  useEffect(refresh, [refresh]);
  return { progress, refresh };
}

/** "N left for you · M decided this session", above the item. */
export function ReviewProgress({ progress }: { progress: ProgressAnswer | null }) {
  return (
    <p className="text-sm text-gray-700" data-testid="review-progress" aria-live="polite">
      <span className="font-semibold tabular-nums" data-testid="progress-left">
        {progress ? progress.left.toLocaleString('en') : '…'}
      </span>{' '}
      left for you ·{' '}
      <span className="font-semibold tabular-nums" data-testid="progress-session">
        {progress ? progress.decidedInSession.toLocaleString('en') : '…'}
      </span>{' '}
      decided this session
    </p>
  );
}
