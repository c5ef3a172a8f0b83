import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { jobs } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { enqueueJob, findJob, claimJob } from '@/lib/jobs/lifecycle';
import type { JobHandlers } from '@/lib/worker/run-job';
import { createWorker } from '@/lib/worker/worker-loop';
import { tempDir } from '../review/fixtures';
import { databaseTarget } from '../../test-database';

// The worker's job loop with stand-in handlers (the real ones train models; see handlers.ts):
// dispatch, progress and the lease, failures, and a worker process killed or stopped mid-job.

const tmp = tempDir('loupe-worker-');
afterAll(tmp.cleanup);
let dbCount = 0;

async function freshDb(): Promise<{ db: Db; file: string }> {
  const file = path.join(tmp.dir, `worker-${++dbCount}.db`);
  const db = openDb(file);
  await migrateDb(db);
  return { db, file };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function worker(
  db: Db,
  handlers: JobHandlers,
  options: { leaseMs?: number; owner?: string; progressIntervalMs?: number } = {},
) {
  return createWorker({
    db,
    handlers,
    leaseMs: options.leaseMs ?? 60_000,
    pollMs: 20,
    schedule: false,
    owner: options.owner,
    progressIntervalMs: options.progressIntervalMs,
    log: () => {},
  });
}

describe('worker job loop', () => {
  it('dispatches each job to the handler of its kind and records the final progress', async () => {
    const { db } = await freshDb();
    const seen: { kind: string; payload: unknown }[] = [];
    const w = worker(db, {
      score: async ({ job }) => {
        seen.push({ kind: job.kind, payload: job.payload });
        return { phase: 'done', scored: 3 };
      },
      train: async ({ job }) => {
        seen.push({ kind: job.kind, payload: job.payload });
        return { phase: 'done', promoted: false };
      },
    });
    const a = (await enqueueJob(db, { kind: 'score', payload: { catalogueId: 1 } })).job;
    const b = (await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } })).job;
    const evaluate = (await enqueueJob(db, { kind: 'evaluate', payload: { catalogueId: 1 } })).job;
    expect(await w.tick()).toBe('succeeded');
    expect(await w.tick()).toBe('succeeded');
    // No handler for 'evaluate': this worker does not claim it.
    expect(await w.tick()).toBe('idle');
    expect(seen).toEqual([
      { kind: 'score', payload: { catalogueId: 1 } },
      { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } },
    ]);
    expect(await findJob(db, a.id)).toMatchObject({
      status: 'succeeded',
      progress: { phase: 'done', scored: 3 },
      leaseOwner: null,
    });
    expect(await findJob(db, b.id)).toMatchObject({
      status: 'succeeded',
      progress: { phase: 'done', promoted: false },
    });
    expect(await findJob(db, evaluate.id)).toMatchObject({ status: 'queued', attempts: 0 });
  });

  it('writes progress throttled (a new phase at once) and keeps the lease renewed while a job runs', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } });
    const observed: unknown[] = [];
    let stolen: unknown = 'not tried';
    const w = worker(
      db,
      {
        train: async ({ report }) => {
          await report({ phase: 'training', epoch: 1 });
          observed.push((await findJob(db, job.id))?.progress);
          await report({ phase: 'training', epoch: 1, batch: 2 });
          // Throttled: within the interval, the same phase is not written yet.
          observed.push((await findJob(db, job.id))?.progress);
          await report({ phase: 'training', epoch: 1, batch: 3 }, { force: true });
          observed.push((await findJob(db, job.id))?.progress);
          // Three lease lengths without a report: the renewal timer keeps the job.
          await sleep(900);
          stolen = await claimJob(db, { owner: 'other', kinds: ['train'] });
          return { phase: 'done' };
        },
      },
      { leaseMs: 300, progressIntervalMs: 10_000 },
    );
    expect(await w.tick()).toBe('succeeded');
    expect(observed).toEqual([
      { phase: 'training', epoch: 1 },
      { phase: 'training', epoch: 1 },
      { phase: 'training', epoch: 1, batch: 3 },
    ]);
    expect(stolen).toBeNull();
    expect(await findJob(db, job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('a failing job is retried, then failed with its error; an invalid payload fails at once', async () => {
    const { db } = await freshDb();
    let calls = 0;
    const w = worker(db, {
      score: async ({ job }) => {
        calls++;
        if ((job.payload as { bad?: boolean }).bad) throw new AppError('bad_input', 'catalogueId: expected a number');
        throw new Error(`disk full (call ${calls})`);
      },
    });
    const { job } = await enqueueJob(db, { kind: 'score', payload: { catalogueId: 1 }, maxAttempts: 2 });
    expect(await w.tick()).toBe('retrying');
    expect(await findJob(db, job.id)).toMatchObject({ status: 'queued', attempts: 1, error: 'disk full (call 1)' });
    expect(await w.tick()).toBe('failed');
    expect(await findJob(db, job.id)).toMatchObject({ status: 'failed', attempts: 2, error: 'disk full (call 2)' });
    expect(await w.tick()).toBe('idle');

    const bad = (await enqueueJob(db, { kind: 'score', payload: { catalogueId: 1, bad: true }, maxAttempts: 3 })).job;
    expect(await w.tick()).toBe('failed');
    expect(await findJob(db, bad.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'catalogueId: expected a number',
    });
  });

  it('a worker that lost its lease stops reporting and does not complete the job', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } });
    const w = worker(db, {
      train: async ({ report }) => {
        // Another worker took the job over (as after an expired lease).
        await db.update(jobs).set({ leaseOwner: 'other-worker', attempts: 2 }).where(eq(jobs.id, job.id));
        await report({ phase: 'training', epoch: 1 }, { force: true });
        await report({ phase: 'evaluating' }, { force: true });
        return { phase: 'done' };
      },
    });
    expect(await w.tick()).toBe('lost');
    expect(await findJob(db, job.id)).toMatchObject({ status: 'running', leaseOwner: 'other-worker', progress: null });
  });

  describe('a real worker process', () => {
    const child = path.join(import.meta.dirname, '../..', 'fixtures', 'worker-child.ts');
    const start = (file: string, leaseMs: number) =>
      new Promise<{ proc: ChildProcess; owner: string }>((resolve, reject) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', child, databaseTarget(file), String(leaseMs)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        proc.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n') && line) resolve({ proc, owner: line.trim() });
        });
        proc.on('exit', (code) => reject(new Error(`worker child exited early (${code})`)));
      });
    const exited = (proc: ChildProcess) =>
      new Promise<number | null>((resolve) =>
        proc.exitCode !== null ? resolve(proc.exitCode) : proc.on('exit', (code) => resolve(code)),
      );
    async function waitFor<T>(
      read: () => T | undefined | null | false | Promise<T | undefined | null | false>,
      timeoutMs = 30_000,
    ): Promise<T> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const value = await read();
        if (value) return value;
        if (Date.now() > until) throw new Error('timed out waiting');
        await sleep(50);
      }
    }

    it('killed mid-job, its job is picked up again by another worker once the lease expires', async () => {
      const { db, file } = await freshDb();
      const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } });
      const leaseMs = 1500;
      const { proc, owner } = await start(file, leaseMs);
      await waitFor(async () => {
        const row = await findJob(db, job.id);
        return row?.leaseOwner === owner && (row.progress as { step?: number } | null)?.step !== undefined;
      });
      proc.kill('SIGKILL');
      await exited(proc);
      const killedAt = Date.now();
      const steps: number[] = [];
      const survivor = worker(
        db,
        {
          train: async ({ job: retried }) => (
            steps.push((retried.progress as { step: number }).step),
            { phase: 'done', by: 'survivor' }
          ),
        },
        { owner: 'survivor', leaseMs: 60_000 },
      );
      // Within the lease, nobody may take it.
      expect(await survivor.tick()).toBe('idle');
      await sleep(Math.max(0, killedAt + leaseMs + 100 - Date.now()));
      expect(await survivor.tick()).toBe('succeeded');
      // The crash is counted as a lease expiry, not as one of the job's attempts.
      expect(await findJob(db, job.id)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        leaseExpiries: 1,
        progress: { phase: 'done', by: 'survivor' },
      });
      // The retry saw how far the dead worker had got.
      expect(steps[0]).toBeGreaterThan(0);
    });

    it('on SIGTERM it gives the job back to the queue unfinished, without counting the attempt, and exits', async () => {
      const { db, file } = await freshDb();
      const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1, reason: 'manual' } });
      const { proc, owner } = await start(file, 60_000);
      await waitFor(async () => (await findJob(db, job.id))?.leaseOwner === owner);
      proc.kill('SIGTERM');
      expect(await exited(proc)).toBe(0);
      expect(await findJob(db, job.id)).toMatchObject({ status: 'queued', attempts: 0, leaseOwner: null, error: null });
      // Claimable again at once, long before the 60 s lease would have expired.
      expect((await claimJob(db, { owner: 'next', kinds: ['train'] }))?.id).toBe(job.id);
    });
  });
});
