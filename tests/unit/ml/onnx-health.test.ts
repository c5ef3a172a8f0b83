import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { checkHealth } from '@/lib/health';
import { writeWorkerStatus } from '@/lib/jobs/worker-status';
import { tempDir } from '../review/fixtures';

// /api/v1/health says which scorer the worker runs, from the worker's heartbeat.
const tmp = tempDir('loupe-onnx-health-');
beforeAll(async () => {
  process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
  await migrateDb(getDb());
});
afterAll(tmp.cleanup);

const now = () => new Date().toISOString();

describe('health reports the scorer', () => {
  it('is the heartbeat scorer, onnx or tfjs', async () => {
    for (const scorer of ['onnx', 'tfjs'] as const) {
      writeWorkerStatus({ pid: 1, backend: 'wasm', scorer, threads: 1, startedAt: now(), updatedAt: now() });
      expect((await checkHealth()).scorer).toBe(scorer);
    }
  });

  it('is null from a worker that does not report one', async () => {
    writeWorkerStatus({ pid: 1, backend: 'wasm', threads: 1, startedAt: now(), updatedAt: now() });
    expect((await checkHealth()).scorer).toBeNull();
  });
});
