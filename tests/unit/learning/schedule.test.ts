import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, jobs, modelVersions, reviews, settings, settingsChanges } from '@/db/schema';
import { enqueueJob, claimJob, completeJob, failJob, findJob } from '@/lib/jobs/lifecycle';
import {
  countNewHumanLabels,
  FAILED_TRAINING_BACKOFF_MS,
  getRetrainPolicy,
  maybeEnqueueRetrain,
  requestRetrainNow,
  setRetrainPolicy,
  type RetrainPolicyInput,
} from '@/lib/learning/schedule';
import { listRetrainPolicyChanges } from '@/lib/learning/retrain-policy-history';
import { scheduleJobs } from '@/lib/worker/schedule-jobs';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { onlyRow } from '@/db/client';

const tmp = tempDir('loupe-schedule-');
afterAll(tmp.cleanup);

const T0 = 1_800_000_000_000;
const MINUTE = 60_000;
const DEFAULTS: RetrainPolicyInput = {
  enabled: true,
  minNewLabels: 200,
  intervalMinutes: null,
  maxHoldoutDropPoints: 0.2,
};

let clientIds = 0;
/** A review row as lib/reviews.ts writes it (the queue and leases are tested elsewhere). */
async function review(fx: Fixture, itemId: number, action: 'confirm' | 'correct' | 'skip' | 'unsure') {
  return await fx.db
    .insert(reviews)
    .values({
      itemId,
      reviewerId: fx.reviewer.userId,
      modelVersionId: fx.modelVersionId,
      modelLabel: 0,
      chosenLabel: action === 'skip' || action === 'unsure' ? null : 1,
      action,
      durationMs: 1000,
      clientId: `client-${++clientIds}`,
    })
    .returning()
    .then(onlyRow);
}
async function undo(fx: Fixture, target: { id: number; itemId: number }) {
  return await fx.db
    .insert(reviews)
    .values({
      itemId: target.itemId,
      reviewerId: fx.reviewer.userId,
      action: 'undo',
      durationMs: 0,
      clientId: `client-${++clientIds}`,
      revertsReviewId: target.id,
    })
    .returning()
    .then(onlyRow);
}
async function setPolicy(fx: Fixture, policy: Partial<RetrainPolicyInput>, now = T0) {
  return await setRetrainPolicy(fx.db, {
    actor: fx.admin,
    catalogueId: fx.catalogueId,
    policy: { ...DEFAULTS, ...policy },
    now,
  });
}
async function trainJobs(fx: Fixture) {
  return await fx.db.select().from(jobs).where(eq(jobs.kind, 'train'));
}

describe('retrain policy', () => {
  it('fills in defaults for rows written before the newer keys existed, and for no row at all', async () => {
    const fx = await makeFixture(tmp.dir, []);
    expect(await getRetrainPolicy(fx.db, fx.catalogueId)).toEqual(DEFAULTS);
    await fx.db
      .insert(settings)
      .values({ catalogueId: fx.catalogueId, retrainPolicy: { minNewLabels: 50, enabled: false } })
      .onConflictDoUpdate({
        target: settings.catalogueId,
        set: { retrainPolicy: { minNewLabels: 50, enabled: false } },
      });
    expect(await getRetrainPolicy(fx.db, fx.catalogueId)).toEqual({
      enabled: false,
      minNewLabels: 50,
      intervalMinutes: null,
      maxHoldoutDropPoints: 0.2,
    });
  });

  it('an admin saves it in one go with one history row per changed key; saving it unchanged writes nothing', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const result = await setPolicy(fx, { minNewLabels: 50, intervalMinutes: 1440 });
    expect(result.changed).toEqual(['minNewLabels', 'intervalMinutes']);
    expect(await getRetrainPolicy(fx.db, fx.catalogueId)).toEqual({
      ...DEFAULTS,
      minNewLabels: 50,
      intervalMinutes: 1440,
    });
    expect(
      (await listRetrainPolicyChanges(fx.db, { catalogueId: fx.catalogueId })).map(
        ({ key, oldValue, newValue, userEmail }) => ({ key, oldValue, newValue, userEmail }),
      ),
    ).toEqual([
      { key: 'intervalMinutes', oldValue: null, newValue: 1440, userEmail: fx.admin.email },
      { key: 'minNewLabels', oldValue: 200, newValue: 50, userEmail: fx.admin.email },
    ]);
    expect((await setPolicy(fx, { minNewLabels: 50, intervalMinutes: 1440 })).changed).toEqual([]);
    expect(await fx.db.select().from(settingsChanges)).toHaveLength(2);
  });

  it('refuses other roles and bad values with a sentence, writing nothing', async () => {
    const fx = await makeFixture(tmp.dir, []);
    for (const actor of [fx.reviewer, fx.ops]) {
      await expectAppError(
        async () => await setRetrainPolicy(fx.db, { actor, catalogueId: fx.catalogueId, policy: DEFAULTS }),
        'forbidden',
      );
    }
    await expectAppError(
      async () => await setRetrainPolicy(fx.db, { actor: null, catalogueId: fx.catalogueId, policy: DEFAULTS }),
      'unauthorized',
    );
    await expectAppError(
      async () => await setPolicy(fx, { minNewLabels: 0 }),
      'bad_input',
      /^minNewLabels: must be a whole number of labels from 1 to 1,000,000/,
    );
    await expectAppError(
      async () => await setPolicy(fx, { minNewLabels: 2.5 }),
      'bad_input',
      /minNewLabels: must be a whole number/,
    );
    await expectAppError(async () => await setPolicy(fx, { minNewLabels: Number.NaN }), 'bad_input', /minNewLabels/);
    await expectAppError(
      async () => await setPolicy(fx, { intervalMinutes: 2 }),
      'bad_input',
      /^intervalMinutes: must be off \(empty\) or a whole number of minutes from 5/,
    );
    await expectAppError(
      async () => await setPolicy(fx, { maxHoldoutDropPoints: 7 }),
      'bad_input',
      /^maxHoldoutDropPoints: must be a number of percentage points from 0 to 5/,
    );
    await expectAppError(
      async () => await setPolicy(fx, { maxHoldoutDropPoints: -0.1 }),
      'bad_input',
      /maxHoldoutDropPoints/,
    );
    await expectAppError(
      async () => await setRetrainPolicy(fx.db, { actor: fx.admin, catalogueId: 9999, policy: DEFAULTS }),
      'not_found',
    );
    expect(await fx.db.select().from(settingsChanges)).toHaveLength(0);
    expect(await getRetrainPolicy(fx.db, fx.catalogueId)).toEqual(DEFAULTS);
  });
});

describe('counting new human labels', () => {
  it('counts confirms and corrections not undone, per item, since the last training cut-off', async () => {
    const fx = await makeFixture(
      tmp.dir,
      Array.from({ length: 8 }, () => ({})),
    );
    const [a, b, c, d, e, f, gold] = fx.itemIds as [number, number, number, number, number, number, number];
    await fx.db.update(items).set({ evalRole: 'gold' }).where(eq(items.id, gold));
    await review(fx, a, 'confirm');
    await review(fx, b, 'correct');
    await review(fx, c, 'skip');
    await review(fx, d, 'unsure');
    await undo(fx, await review(fx, e, 'correct'));
    // Undone, then decided again: one label.
    await undo(fx, await review(fx, f, 'correct'));
    const last = await review(fx, f, 'confirm');
    await review(fx, gold, 'correct');
    expect(await countNewHumanLabels(fx.db, fx.catalogueId)).toEqual({ count: 3, sinceReviewId: 0 });

    // A candidate trained through `last` moves the cut-off (a rejected one too).
    await fx.db.insert(modelVersions).values({
      catalogueId: fx.catalogueId,
      name: 'cand',
      arch: 'test',
      weightsPath: '/x',
      status: 'rejected',
      metrics: { throughReviewId: last.id },
    });
    expect(await countNewHumanLabels(fx.db, fx.catalogueId)).toEqual({ count: 0, sinceReviewId: last.id });
    await review(fx, c, 'correct');
    expect((await countNewHumanLabels(fx.db, fx.catalogueId)).count).toBe(1);
  });
});

describe('scheduling retraining', () => {
  async function fixtureWithLabels(n: number) {
    const fx = await makeFixture(
      tmp.dir,
      Array.from({ length: n + 5 }, () => ({})),
    );
    for (const id of fx.itemIds.slice(0, n)) await review(fx, id, 'correct');
    return fx;
  }

  it('enqueues one training job once enough new labels arrived, and never a second while it waits or runs', async () => {
    const fx = await fixtureWithLabels(5);
    await setPolicy(fx, { minNewLabels: 6 });
    expect(await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 })).toMatchObject({
      enqueued: false,
      newLabels: 5,
      why: '5 of 6 new human labels so far.',
    });
    await review(fx, fx.itemIds[5]!, 'confirm');
    const first = await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 1 });
    expect(first).toMatchObject({
      enqueued: true,
      reason: 'labels',
      newLabels: 6,
      job: {
        kind: 'train',
        status: 'queued',
        payload: { catalogueId: fx.catalogueId, reason: 'labels' },
        maxAttempts: 2,
      },
    });
    expect(await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 2 })).toMatchObject({
      enqueued: false,
      why: 'A training job is already queued or running.',
    });
    // An admin's "train now" meanwhile gets the same job back.
    const manual = await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: fx.catalogueId });
    expect(manual.created).toBe(false);
    expect(manual.job.id).toBe(first.enqueued ? first.job.id : -1);
    await claimJob(fx.db, { owner: 'w', kinds: ['train'] });
    expect((await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 3 })).enqueued).toBe(false);
    expect((await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: fx.catalogueId })).created).toBe(false);
    expect(await trainJobs(fx)).toHaveLength(1);
  });

  it('does nothing while switched off', async () => {
    const fx = await fixtureWithLabels(3);
    await setPolicy(fx, { minNewLabels: 1, enabled: false });
    expect(await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 })).toMatchObject({
      enqueued: false,
      why: 'Automatic retraining is off for this catalogue.',
    });
    expect(await trainJobs(fx)).toHaveLength(0);
  });

  it('on a timer: after the interval since the last training job, when at least one new label arrived', async () => {
    const fx = await fixtureWithLabels(0);
    await setPolicy(fx, { intervalMinutes: 60 });
    const previous = (
      await enqueueJob(fx.db, {
        kind: 'train',
        payload: { catalogueId: fx.catalogueId, reason: 'manual' },
        now: T0,
      })
    ).job;
    await claimJob(fx.db, { owner: 'w', now: T0 });
    await completeJob(fx.db, { jobId: previous.id, owner: 'w', now: T0 + MINUTE });
    // Interval passed but nothing new to learn from.
    expect((await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 61 * MINUTE })).enqueued).toBe(
      false,
    );
    await review(fx, fx.itemIds[0]!, 'correct');
    expect((await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 59 * MINUTE })).enqueued).toBe(
      false,
    );
    expect(await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 60 * MINUTE })).toMatchObject({
      enqueued: true,
      reason: 'timer',
      newLabels: 1,
    });
  });

  it('after a training failed for good, waits before trying again on its own', async () => {
    const fx = await fixtureWithLabels(2);
    await setPolicy(fx, { minNewLabels: 2 });
    const check = await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 });
    if (!check.enqueued) throw new Error('expected a job');
    await claimJob(fx.db, { owner: 'w', now: T0 });
    expect(
      await failJob(fx.db, { jobId: check.job.id, owner: 'w', error: 'out of memory', retry: false, now: T0 + MINUTE }),
    ).toBe('failed');
    expect(await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + 2 * MINUTE })).toMatchObject({
      enqueued: false,
      why: expect.stringContaining('last training failed'),
    });
    expect(
      (await maybeEnqueueRetrain(fx.db, { catalogueId: fx.catalogueId, now: T0 + MINUTE + FAILED_TRAINING_BACKOFF_MS }))
        .enqueued,
    ).toBe(true);
  });

  it('train now: admins only, for a catalogue that has a model', async () => {
    const fx = await fixtureWithLabels(0);
    const { job, created } = await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: fx.catalogueId });
    expect(created).toBe(true);
    expect(job).toMatchObject({
      kind: 'train',
      status: 'queued',
      payload: { catalogueId: fx.catalogueId, reason: 'manual', requestedBy: fx.admin.userId },
    });
    for (const actor of [fx.reviewer, fx.ops])
      await expectAppError(
        async () => await requestRetrainNow(fx.db, { actor, catalogueId: fx.catalogueId }),
        'forbidden',
      );
    await expectAppError(
      async () => await requestRetrainNow(fx.db, { actor: null, catalogueId: fx.catalogueId }),
      'unauthorized',
    );
    await expectAppError(
      async () => await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: 9999 }),
      'not_found',
    );
    await fx.db.update(modelVersions).set({ status: 'retired' }).where(eq(modelVersions.id, fx.modelVersionId));
    await claimJob(fx.db, { owner: 'w' });
    await completeJob(fx.db, { jobId: job.id, owner: 'w' });
    await expectAppError(
      async () => await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: fx.catalogueId }),
      'conflict',
      /no active model/,
    );
    expect((await findJob(fx.db, job.id))?.status).toBe('succeeded');
    expect(await trainJobs(fx)).toHaveLength(1);
  });

  it("the worker's pass queues scoring for unscored items once, and training when the policy says so", async () => {
    const fx = await makeFixture(tmp.dir, [{ unscored: true }, { unscored: true }, {}, {}]);
    await fx.db.update(items).set({ status: 'unscored' }).where(eq(items.id, fx.itemIds[0]!));
    await review(fx, fx.itemIds[2]!, 'correct');
    await setPolicy(fx, { minNewLabels: 1 });
    const first = await scheduleJobs(fx.db, { now: T0 });
    expect(first.map((s) => [s.kind, s.catalogue])).toEqual([
      ['score', 'demo'],
      ['train', 'demo'],
    ]);
    expect(await scheduleJobs(fx.db, { now: T0 + 1 })).toEqual([]);
    expect(await fx.db.select().from(jobs)).toHaveLength(2);
  });
});
