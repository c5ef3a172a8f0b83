import type { Worker } from './worker-loop';

/**
 * SIGTERM/SIGINT for a worker process: stop claiming, let the job in hand finish for up to
 * `graceMs`, then give it back to the queue (another worker retries it at once, with no
 * attempt counted) and exit. A second signal gives it back at once. Nothing is half-written
 * either way: every write of a job is its own transaction, and better-sqlite3 runs them
 * synchronously, so a signal is handled between them, never inside one.
 */
export function exitOnSignals(worker: Worker, options: { graceMs: number; log?: (line: string) => void }): void {
  const exitNow = () => {
    void worker
      .releaseCurrent()
      .catch((error: unknown) =>
        options.log?.(`could not give the job back: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => process.exit(0));
  };
  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (++signals > 1) return exitNow();
      options.log?.(
        `${signal}: no new jobs; ${worker.current() ? `giving the job in hand ${Math.round(options.graceMs / 1000)} s to finish` : 'stopping'}`,
      );
      worker.stop();
      setTimeout(exitNow, options.graceMs).unref();
    });
  }
}
