import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { getEnv } from '@/lib/env';

/**
 * What `npm start`'s supervisor knows of the processes it runs (the web server and the
 * worker), in a small JSON file beside the database, rewritten on every start, exit and
 * restart and every few seconds: how /api/v1/health tells a worker being restarted from one
 * that is running, and how many times each part was restarted.
 */
export const SUPERVISED_PARTS = ['web', 'worker'] as const;
export type SupervisedPart = (typeof SUPERVISED_PARTS)[number];

const ChildStatus = z.object({
  /** running: started and not exited; restarting: exited, waiting out its back-off; stopped: by a signal to Loupe. */
  state: z.enum(['running', 'restarting', 'stopped']),
  pid: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  restarts: z.number().int().min(0),
  lastExit: z.object({ code: z.number().int().nullable(), signal: z.string().nullable(), at: z.string() }).nullable(),
  /** When a restarting part is started again. */
  restartAt: z.string().nullable(),
});
export type ChildStatus = z.infer<typeof ChildStatus>;

const SupervisorStatus = z.object({
  pid: z.number().int(),
  updatedAt: z.string(),
  children: z.record(z.enum(SUPERVISED_PARTS), ChildStatus),
});
export type SupervisorStatus = z.infer<typeof SupervisorStatus>;

/** The supervisor rewrites its file at least this often; an older file is a supervisor gone. */
export const SUPERVISOR_WRITE_MS = 5_000;
const SUPERVISOR_STALE_MS = 4 * SUPERVISOR_WRITE_MS;

function statusFile(): string {
  return path.join(path.dirname(path.resolve(getEnv().LOUPE_DB)), 'supervisor-status.json');
}

export function writeSupervisorStatus(status: SupervisorStatus): void {
  const file = statusFile();
  const staging = `${file}.${process.pid}.tmp`;
  // On PostgreSQL nothing else creates the folder beside LOUPE_DB (SQLite's openDb does).
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(staging, JSON.stringify(status));
  fs.renameSync(staging, file);
}

/** The supervisor's last word, or null without a live supervisor (e.g. `next start` run by hand). */
export function readSupervisorStatus(now: number = Date.now()): SupervisorStatus | null {
  try {
    const status = SupervisorStatus.parse(JSON.parse(fs.readFileSync(statusFile(), 'utf8')));
    return now - Date.parse(status.updatedAt) > SUPERVISOR_STALE_MS ? null : status;
  } catch {
    return null;
  }
}
