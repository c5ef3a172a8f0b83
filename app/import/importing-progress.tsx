'use client';

import { useEffect, useState } from 'react';

const POLL_MS = 500;

interface RunningImport {
  id: number;
  state: 'staging' | 'moving' | 'done';
  total: number;
  staged: number;
  inserted: number;
}

/**
 * While the server imports an uploaded file (after the upload itself, before the answer): the
 * rows checked, then the items added, read from the import's own record (lib/import/staging.ts).
 */
export function ImportingProgress({ catalogue }: { catalogue: string }) {
  const [running, setRunning] = useState<RunningImport | null>(null);

  useEffect(() => {
    let cancelled = false;
    const poll = async () => {
      try {
        const query = new URLSearchParams({ catalogue, unfinished: 'true', limit: '1' });
        const response = await fetch(`/api/v1/imports?${query}`, { cache: 'no-store' });
        if (!response.ok || cancelled) return;
        const body = (await response.json()) as { imports: RunningImport[] };
        if (!cancelled) setRunning(body.imports[0] ?? null);
      } catch {
        // The upload's own answer says what went wrong; this line only shows progress.
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [catalogue]);

  if (!running) return <p className="text-sm">Uploaded; reading and checking the file…</p>;
  if (running.state === 'staging') {
    return (
      <div data-testid="importing-progress" className="flex flex-col gap-1 text-sm">
        <progress className="h-2 w-80 max-w-full" max={running.total} value={Math.min(running.staged, running.total)} />
        <p>
          Checking rows: {running.staged.toLocaleString('en')} of {running.total.toLocaleString('en')}…
        </p>
      </div>
    );
  }
  // Rows already in the catalogue or skipped as duplicates are never added, so no total here.
  return (
    <div data-testid="importing-progress" className="flex flex-col gap-1 text-sm">
      <progress className="h-2 w-80 max-w-full" />
      <p>Every row checked; adding items: {running.inserted.toLocaleString('en')} so far…</p>
    </div>
  );
}
