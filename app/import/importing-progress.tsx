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
    const timer = setInterval(poll, POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [catalogue]);

  if (!running) return <p className="text-sm">Uploaded; reading and checking the file…</p>;
  const checking = running.state === 'staging';
  const done = checking ? running.staged : running.inserted;
  const total = checking ? running.total : Math.max(running.staged, 1);
  return (
    <div data-testid="importing-progress" className="flex flex-col gap-1 text-sm">
      <progress className="h-2 w-80 max-w-full" max={total} value={Math.min(done, total)} />
      <p>
        {checking ? 'Checking rows' : 'Adding items'}: {done.toLocaleString('en')} of {total.toLocaleString('en')}…
      </p>
    </div>
  );
}
