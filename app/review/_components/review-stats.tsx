'use client';

import { useCallback, useEffect, useState } from 'react';
import { callApi, type ReviewerStats } from './review-api';

/** The start of the reviewer's own day, so "today" follows their clock, not the server's. */
function localMidnight(): number {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

export function useReviewerStats(): { stats: ReviewerStats | null; refresh: () => void } {
  const [stats, setStats] = useState<ReviewerStats | null>(null);
  const refresh = useCallback(() => {
    void callApi<ReviewerStats>(`/api/v1/me/stats?since=${localMidnight()}`, { retries: 1 }).then((result) => {
      if (result.ok) setStats(result.data);
    });
  }, []);
  useEffect(refresh, [refresh]);
  return { stats, refresh };
}

export function ReviewStats({ stats }: { stats: ReviewerStats | null }) {
  return (
    <dl
      className="flex gap-4 rounded border border-gray-200 bg-white px-3 py-2 text-sm"
      data-testid="review-stats"
      aria-label="Your figures today"
    >
      <div>
        <dt className="text-xs text-gray-500">Decisions today</dt>
        <dd className="font-semibold tabular-nums" data-testid="stats-decisions">
          {stats ? stats.decisionsToday : '…'}
        </dd>
      </div>
      <div>
        <dt className="text-xs text-gray-500">Median per decision</dt>
        <dd className="font-semibold tabular-nums" data-testid="stats-median">
          {stats ? (stats.medianSeconds === null ? '–' : `${stats.medianSeconds.toFixed(1)} s`) : '…'}
        </dd>
      </div>
      {stats && (
        <div className="hidden sm:block">
          <dt className="text-xs text-gray-500">Confirmed / corrected</dt>
          <dd className="tabular-nums">
            {stats.byAction.confirm} / {stats.byAction.correct}
          </dd>
        </div>
      )}
    </dl>
  );
}
