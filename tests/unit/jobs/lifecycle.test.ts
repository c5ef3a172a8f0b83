import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { claimInTwoProcesses } from '../../fixtures/claim-jobs';
import { jobs } from '@/db/schema';
import {
  claimJob,
  completeJob,
  enqueueJob,
  failJob,
  findJob,
  MAX_LEASE_EXPIRIES,
  releaseJob,
  reportJobProgress,
} from '@/lib/jobs/lifecycle';
import { tempDir } from '../review/fixtures';

const tmp = tempDir('loupe-jobs-');
afterAll(tmp.cleanup);
let dbCount = 0;

async function freshDb(): Promise<{ db: Db; file: string }> {
  const file = path.join(tmp.dir, `jobs-${++dbCount}.db`);
  const db = openDb(file);
  await migrateDb(db);
  return { db, file };
}

const T0 = 1_800_000_000_000;

describe('job queue', () => {
  it('claims the oldest queued job, once', async () => {
    const { db } = await freshDb();
    const first = (await enqueueJob(db, { kind: 'score', payload: { catalogueId: 1 }, now: T0 })).job;
    await enqueueJob(db, { kind: 'score', payload: { catalogueId: 2 }, now: T0 + 1 });
    const claimed = await claimJob(db, { owner: 'w1', now: T0 + 2 });
    expect(claimed).toMatchObject({ id: first.id, status: 'running', leaseOwner: 'w1', attempts: 1 });
    expect((await claimJob(db, { owner: 'w2', now: T0 + 3 }))?.id).not.toBe(first.id);
    expect(await claimJob(db, { owner: 'w3', now: T0 + 4 })).toBeNull();
  });

  it('filters by kind', async () => {
    const { db } = await freshDb();
    await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, now: T0 });
    expect(await claimJob(db, { owner: 'w', kinds: ['score'], now: T0 + 1 })).toBeNull();
    expect((await claimJob(db, { owner: 'w', kinds: ['train'], now: T0 + 1 }))?.kind).toBe('train');
  });

  it('keeps one exclusive job per catalogue and kind at a time', async () => {
    const { db } = await freshDb();
    const a = await enqueueJob(db, {
      kind: 'train',
      payload: { catalogueId: 1 },
      exclusivePerCatalogue: true,
      now: T0,
    });
    const b = await enqueueJob(db, {
      kind: 'train',
      payload: { catalogueId: 1, reason: 'again' },
      exclusivePerCatalogue: true,
      now: T0 + 1,
    });
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ created: false, job: { id: a.job.id } });
    expect(
      (await enqueueJob(db, { kind: 'train', payload: { catalogueId: 2 }, exclusivePerCatalogue: true, now: T0 + 2 }))
        .created,
    ).toBe(true);
    // Still exclusive while running; a new one may be queued once the first has finished.
    await claimJob(db, { owner: 'w', kinds: ['train'], now: T0 + 3 });
    expect(
      (await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, exclusivePerCatalogue: true, now: T0 + 4 }))
        .created,
    ).toBe(false);
    await completeJob(db, { jobId: a.job.id, owner: 'w', now: T0 + 5 });
    expect(
      (await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, exclusivePerCatalogue: true, now: T0 + 6 }))
        .created,
    ).toBe(true);
    await expect(
      async () => await enqueueJob(db, { kind: 'train', payload: {}, exclusivePerCatalogue: true }),
    ).rejects.toThrow(/catalogueId/);
  });

  it('a failed job is retried until maxAttempts, then failed with its error', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'score', payload: { catalogueId: 1 }, maxAttempts: 2, now: T0 });
    await claimJob(db, { owner: 'w', now: T0 + 1 });
    expect(await failJob(db, { jobId: job.id, owner: 'w', error: 'disk full', now: T0 + 2 })).toBe('queued');
    expect(await findJob(db, job.id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error: 'disk full',
      leaseOwner: null,
    });
    expect((await claimJob(db, { owner: 'w', now: T0 + 3 }))?.attempts).toBe(2);
    expect(await failJob(db, { jobId: job.id, owner: 'w', error: 'disk still full', now: T0 + 4 })).toBe('failed');
    expect(await findJob(db, job.id)).toMatchObject({ status: 'failed', error: 'disk still full' });
    expect((await findJob(db, job.id))?.finishedAt?.getTime()).toBe(T0 + 4);
    expect(await claimJob(db, { owner: 'w', now: T0 + 5 })).toBeNull();
  });

  it('a crashed worker’s job is claimed again after its lease expires, and the old owner can no longer write', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, now: T0 });
    await claimJob(db, { owner: 'dead', leaseMs: 1000, now: T0 });
    expect(await claimJob(db, { owner: 'alive', now: T0 + 999 })).toBeNull();
    const retaken = await claimJob(db, { owner: 'alive', now: T0 + 1001 });
    // A takeover is the same attempt: the crash counts as a lease expiry, not a failure.
    expect(retaken).toMatchObject({ id: job.id, leaseOwner: 'alive', attempts: 1, leaseExpiries: 1 });
    await expect(
      async () => await reportJobProgress(db, { jobId: job.id, owner: 'dead', progress: { epoch: 1 } }),
    ).rejects.toThrow(expect.objectContaining({ code: 'conflict' }));
    await expect(async () => await completeJob(db, { jobId: job.id, owner: 'dead' })).rejects.toThrow(
      expect.objectContaining({ code: 'conflict' }),
    );
    await reportJobProgress(db, { jobId: job.id, owner: 'alive', progress: { epoch: 2 }, now: T0 + 1100 });
    expect((await findJob(db, job.id))?.progress).toEqual({ epoch: 2 });
  });

  it('progress renews the lease', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, now: T0 });
    await claimJob(db, { owner: 'w', leaseMs: 1000, now: T0 });
    await reportJobProgress(db, { jobId: job.id, owner: 'w', progress: { done: 1 }, leaseMs: 1000, now: T0 + 900 });
    expect(await claimJob(db, { owner: 'other', now: T0 + 1500 })).toBeNull();
  });

  it('a crash does not use up attempts: a job on its last attempt is taken over after its lease expires', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, maxAttempts: 1, now: T0 });
    await claimJob(db, { owner: 'dead', leaseMs: 1000, now: T0 });
    expect(await claimJob(db, { owner: 'alive', leaseMs: 1000, now: T0 + 2000 })).toMatchObject({
      id: job.id,
      attempts: 1,
      leaseExpiries: 1,
    });
    // A real failure still counts: with one attempt allowed, it is failed for good.
    expect(await failJob(db, { jobId: job.id, owner: 'alive', error: 'out of disk', now: T0 + 2500 })).toBe('failed');
    expect(await findJob(db, job.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      leaseExpiries: 1,
      error: 'out of disk',
    });
  });

  it('a job that loses its worker more than MAX_LEASE_EXPIRIES times is failed, not taken over again', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, maxAttempts: 2, now: T0 });
    let now = T0;
    await claimJob(db, { owner: 'w0', leaseMs: 1000, now });
    for (let i = 1; i <= MAX_LEASE_EXPIRIES; i++) {
      now += 1001;
      expect(await claimJob(db, { owner: `w${i}`, leaseMs: 1000, now })).toMatchObject({
        id: job.id,
        attempts: 1,
        leaseExpiries: i,
      });
    }
    now += 1001;
    expect(await claimJob(db, { owner: 'last', leaseMs: 1000, now })).toBeNull();
    expect(await findJob(db, job.id)).toMatchObject({
      status: 'failed',
      leaseOwner: null,
      leaseExpiries: MAX_LEASE_EXPIRIES,
      error: `The worker stopped (crashed or was killed) ${MAX_LEASE_EXPIRIES + 1} times while running this job, so it is not retried again.`,
    });
  });

  it('a job given back on shutdown is claimed again as the same attempt, whether or not it was taken over', async () => {
    const { db } = await freshDb();
    const { job } = await enqueueJob(db, { kind: 'train', payload: { catalogueId: 1 }, maxAttempts: 2, now: T0 });
    await claimJob(db, { owner: 'dead', leaseMs: 1000, now: T0 });
    await claimJob(db, { owner: 'stopping', leaseMs: 1000, now: T0 + 1500 });
    await releaseJob(db, { jobId: job.id, owner: 'stopping', now: T0 + 1600 });
    expect(await findJob(db, job.id)).toMatchObject({ status: 'queued', attempts: 0, leaseExpiries: 1 });
    expect(await claimJob(db, { owner: 'next', now: T0 + 1700 })).toMatchObject({ attempts: 1, leaseExpiries: 1 });
  });

  it('two worker processes claiming at once never take the same job, and take them all', async () => {
    const { db, file } = await freshDb();
    const count = 400;
    await db
      .insert(jobs)
      .values(Array.from({ length: count }, (_, i) => ({ kind: 'score' as const, payload: { catalogueId: 1, n: i } })));
    const [a, b] = await claimInTwoProcesses(file);
    const all = [...a, ...b];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(count);
    // Both really worked the queue at the same time (else the test would prove nothing).
    expect(Math.min(a.length, b.length)).toBeGreaterThan(count / 10);
    expect((await db.select().from(jobs)).every((j) => j.status === 'succeeded' && j.attempts === 1)).toBe(true);
  });
});
