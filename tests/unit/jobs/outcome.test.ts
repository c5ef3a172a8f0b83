import { afterAll, describe, expect, it } from 'vitest';
import { claimJob, completeJob, enqueueJob, failJob } from '@/lib/jobs/lifecycle';
import { jobOutcome, listJobs } from '@/lib/jobs/list';
import { expectAppError, makeFixture, tempDir } from '../review/fixtures';

const tmp = tempDir('loupe-job-outcome-');
afterAll(tmp.cleanup);

const T0 = 1_800_000_000_000;

describe('jobOutcome', () => {
  it('reads a finished training by its gate decision, and anything else by its status', () => {
    const train = (status: 'queued' | 'running' | 'succeeded' | 'failed', progress: Record<string, unknown> | null) =>
      jobOutcome({ kind: 'train', status, progress });
    expect(train('succeeded', { phase: 'done', promoted: false, reason: 'holdout fell' })).toBe('rejected');
    expect(train('succeeded', { phase: 'done', promoted: true })).toBe('promoted');
    // A result without a decision (an older row) is just succeeded; so is one with a non-boolean.
    expect(train('succeeded', { phase: 'done' })).toBe('succeeded');
    expect(train('succeeded', { promoted: 'no' })).toBe('succeeded');
    expect(train('succeeded', null)).toBe('succeeded');
    // Live or failed jobs read as their status whatever their progress says.
    expect(train('running', { promoted: false })).toBe('running');
    expect(train('failed', { promoted: false })).toBe('failed');
    expect(train('queued', null)).toBe('queued');
    expect(jobOutcome({ kind: 'score', status: 'succeeded', progress: { skipped: true } })).toBe('skipped');
    expect(jobOutcome({ kind: 'score', status: 'succeeded', progress: { superseded: true } })).toBe('superseded');
    expect(jobOutcome({ kind: 'score', status: 'succeeded', progress: { promoted: false } })).toBe('succeeded');
  });

  it('a rejected candidate’s job stays succeeded in the table and lists as rejected', async () => {
    const f = await makeFixture(tmp.dir, []);
    const payload = { catalogueId: f.catalogueId, reason: 'manual' };
    const rejected = (await enqueueJob(f.db, { kind: 'train', payload, now: T0, exclusivePerCatalogue: true })).job;
    await claimJob(f.db, { owner: 'w1', now: T0 + 1 });
    await completeJob(f.db, {
      jobId: rejected.id,
      owner: 'w1',
      progress: { phase: 'done', promoted: false, reason: 'Rejected: held-out human accuracy did not improve.' },
      now: T0 + 2,
    });
    const promoted = (await enqueueJob(f.db, { kind: 'train', payload, now: T0 + 3, exclusivePerCatalogue: true })).job;
    await claimJob(f.db, { owner: 'w1', now: T0 + 4 });
    await completeJob(f.db, {
      jobId: promoted.id,
      owner: 'w1',
      progress: { phase: 'done', promoted: true },
      now: T0 + 5,
    });
    const broken = (await enqueueJob(f.db, { kind: 'train', payload, maxAttempts: 1, now: T0 + 6 })).job;
    await claimJob(f.db, { owner: 'w1', now: T0 + 7 });
    await failJob(f.db, { jobId: broken.id, owner: 'w1', error: 'out of memory', now: T0 + 8 });

    const listed = await listJobs(f.db, { actor: f.admin, catalogue: 'demo', kind: 'train' });
    expect(listed.map((j) => [j.id, j.status, j.outcome])).toEqual([
      [broken.id, 'failed', 'failed'],
      [promoted.id, 'succeeded', 'promoted'],
      [rejected.id, 'succeeded', 'rejected'],
    ]);
    await expectAppError(async () => await listJobs(f.db, { actor: f.ops, kind: 'train' }), 'forbidden');
  });
});
