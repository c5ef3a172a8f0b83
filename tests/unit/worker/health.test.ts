import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GET } from '@/app/api/v1/health/route';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { checkHealth } from '@/lib/health';
import { writeWorkerStatus, type WorkerStatus } from '@/lib/jobs/worker-status';
import { writeSupervisorStatus, type ChildStatus } from '@/lib/supervisor-status';
import { tempDir } from '../review/fixtures';

// /api/v1/health says which part of Loupe is down, from the worker's heartbeat file and
// npm start's supervisor file beside the database, and shows process ids only to operators.

const tmp = tempDir('loupe-health-');
const files = ['worker-status.json', 'supervisor-status.json'].map((name) => path.join(tmp.dir, name));

beforeAll(async () => {
  // Read lazily by getEnv on first use, which is below.
  process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
  await migrateDb(getDb());
});
afterAll(tmp.cleanup);
beforeEach(() => files.forEach((file) => fs.rmSync(file, { force: true })));

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

function heartbeat(pid: number, updatedAt = ago(1000), job: WorkerStatus['job'] = null) {
  writeWorkerStatus({ pid, backend: 'wasm', threads: 1, startedAt: ago(60_000), updatedAt, job });
}

function supervisor(worker: Partial<ChildStatus>, updatedAt = ago(1000)) {
  const child = (over: Partial<ChildStatus>): ChildStatus => ({
    state: 'running',
    pid: 1,
    startedAt: ago(60_000),
    restarts: 0,
    lastExit: null,
    restartAt: null,
    ...over,
  });
  writeSupervisorStatus({
    pid: 99,
    updatedAt,
    children: { web: child({ pid: 10, restarts: 2 }), worker: child(worker) },
  });
}

describe('health', () => {
  it('the status files create their folder: on PostgreSQL nothing else makes the one beside LOUPE_DB', () => {
    fs.rmSync(tmp.dir, { recursive: true, force: true });
    heartbeat(7);
    supervisor({ pid: 7 });
    for (const file of files) expect(fs.existsSync(file), file).toBe(true);
  });

  it('a worker with a fresh heartbeat under the supervisor is up; its pid only in the detailed answer', async () => {
    supervisor({ pid: 4242 });
    heartbeat(4242, ago(1000), { id: 7, kind: 'train' });
    const health = await checkHealth();
    expect(health).toMatchObject({
      ok: true,
      status: 'ok',
      mlBackend: 'wasm',
      web: { status: 'up', restarts: 2 },
      worker: { status: 'up', restarts: 0, job: { id: 7, kind: 'train' }, threads: 1 },
    });
    expect(health.worker).not.toHaveProperty('pid');
    expect((await checkHealth({ detail: true })).worker.pid).toBe(4242);
  });

  it('a worker the supervisor is restarting is down, with when it was last seen', async () => {
    const lastSeen = ago(3000);
    supervisor({
      state: 'restarting',
      pid: null,
      restarts: 1,
      lastExit: { code: null, signal: 'SIGKILL', at: ago(2000) },
    });
    heartbeat(4242, lastSeen);
    expect(await checkHealth()).toMatchObject({
      ok: true,
      status: 'degraded',
      worker: { status: 'down', lastSeen, restarts: 1, job: null },
    });
  });

  it('a restarted worker is starting until its own heartbeat arrives, though the dead one’s is fresh', async () => {
    supervisor({ pid: 5555, restarts: 1 });
    heartbeat(4242);
    expect((await checkHealth({ detail: true })).worker).toEqual({
      status: 'starting',
      lastSeen: expect.any(String),
      restarts: 1,
      threads: null,
      job: null,
    });
  });

  it('without a supervisor: a stale heartbeat is down, none at all is unknown', async () => {
    const lastSeen = ago(45_000);
    heartbeat(4242, lastSeen);
    expect(await checkHealth()).toMatchObject({
      status: 'degraded',
      web: { status: 'up', restarts: null },
      worker: { status: 'down', lastSeen, restarts: null },
    });
    fs.rmSync(files[0]!);
    expect(await checkHealth()).toMatchObject({ status: 'ok', worker: { status: 'unknown', lastSeen: null } });
  });

  it('a supervisor file not rewritten for a while is ignored (a supervisor that was killed)', async () => {
    supervisor({ state: 'restarting', pid: null }, ago(60_000));
    heartbeat(4242);
    expect((await checkHealth()).worker).toMatchObject({ status: 'up', restarts: null });
  });

  it('the public route answers anonymous callers without any process id', async () => {
    supervisor({ pid: 4242 });
    heartbeat(4242);
    const response = await GET();
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ ok: true, worker: { status: 'up' } });
    expect(body).not.toContain('4242');
    expect(body).not.toContain('"pid"');
  });
});
