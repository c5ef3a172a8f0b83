/**
 * Node's arguments for a worker process (npm start, the simulation, the scoring bench's child):
 * TypeScript through tsx, then source maps turned off again (scripts/lib/no-source-maps.mjs).
 * Measured on the 2-core development machine, two idle workers 30 s after start: 395 MB resident
 * with tsx's source maps, 344 MB without.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const WORKER_ENTRY = 'workers/worker.ts';

/** The `--import` flags that go before the entry file (also a forked child's execArgv). */
export function workerExecArgv(): string[] {
  return ['--import', 'tsx', '--import', pathToFileURL(path.resolve('scripts/lib/no-source-maps.mjs')).href];
}

/** The whole argument list of `node` for the worker. */
export function workerNodeArgs(entry = WORKER_ENTRY): string[] {
  return [...workerExecArgv(), entry];
}
