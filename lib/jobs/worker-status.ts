import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { getEnv } from '@/lib/env';

/**
 * The worker's last heartbeat, in a small JSON file beside the database. The web server
 * does not load TensorFlow.js (models run in the worker), so this is how /api/v1/health
 * learns which ML backend is in use.
 */
const WorkerStatus = z.object({
  pid: z.number().int(),
  backend: z.string(),
  /** What scores images: 'onnx' (ONNX Runtime) or 'tfjs'; absent from workers older than the ONNX scorer. */
  scorer: z.enum(['onnx', 'tfjs']).optional(),
  /**
   * With the ONNX scorer, the precision it asks for (LOUPE_ONNX_PRECISION); a version without an
   * int8 calibration is still scored in fp32. Absent from older workers and the tfjs scorer.
   */
  onnxPrecision: z.enum(['fp32', 'int8']).optional(),
  /** Threads of the wasm backend (1 unless LOUPE_WASM_THREADS asked for more and it worked); null on other backends. */
  threads: z.number().int().min(1).nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** The job the worker is running, if any. */
  job: z.object({ id: z.number().int(), kind: z.string() }).nullable().optional(),
});
export type WorkerStatus = z.infer<typeof WorkerStatus>;

/** How often a running worker rewrites its status (a timer, so it goes on during a job). */
export const WORKER_HEARTBEAT_MS = 5_000;
/**
 * A heartbeat older than this means the worker is not running: six missed beats, room for the
 * event-loop stalls a training step can cause (the worker logs any over 3 s).
 */
export const WORKER_STALE_MS = 30_000;

function statusFile(): string {
  return path.join(path.dirname(path.resolve(getEnv().LOUPE_DB)), 'worker-status.json');
}

export function writeWorkerStatus(status: WorkerStatus): void {
  const file = statusFile();
  const staging = `${file}.${process.pid}.tmp`;
  // On PostgreSQL nothing else creates the folder beside LOUPE_DB (SQLite's openDb does).
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(staging, JSON.stringify(status));
  fs.renameSync(staging, file);
}

export function readWorkerStatus(): (WorkerStatus & { stale: boolean }) | null {
  try {
    const status = WorkerStatus.parse(JSON.parse(fs.readFileSync(statusFile(), 'utf8')));
    return { ...status, stale: Date.now() - Date.parse(status.updatedAt) > WORKER_STALE_MS };
  } catch {
    return null;
  }
}
