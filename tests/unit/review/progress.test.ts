import { afterAll, describe, expect, it } from 'vitest';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { countLeftForReviewer, reviewProgress } from '@/lib/review/progress';
import { claimNext } from '@/lib/review/queue';
import { queryGet } from '@/lib/dashboards/common';
import { expectAppError, makeFixture, tempDir, type Fixture } from './fixtures';

const tmp = tempDir('loupe-review-progress-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

/** What "left for this reviewer" means, counted the slow way from the tables. */
async function countedLeft(f: Fixture, reviewerId: number, now: number): Promise<number> {
  const row = await queryGet<{ n: number }>(
    f.db,
    `select count(*) as n from items i left join leases l on l.item_id = i.id
     where i.catalogue_id = ? and i.status = 'needs_review'
       and (l.item_id is null or l.expires_at <= ? or l.reviewer_id = ?)
       and i.id not in (select item_id from reviews where reviewer_id = ? and action in ('skip', 'unsure'))`,
    f.catalogueId,
    now,
    reviewerId,
    reviewerId,
  );
  return row!.n;
}

async function left(f: Fixture, actor: Fixture['reviewer'], now: number): Promise<number> {
  return await countLeftForReviewer(f.db, { actor, catalogueId: f.catalogueId, now });
}

describe('countLeftForReviewer', () => {
  it('counts what a claim could still hand the reviewer: not others’ holds, not what they passed over', async () => {
    const f = await makeFixture(
      tmp.dir,
      Array.from({ length: 8 }, (_, i) => ({ confidence: 0.3 + i * 0.05 })),
    );
    expect(await left(f, f.reviewer, T0)).toBe(8);

    // rob holds one: 7 left for rita, still 8 for rob (his own hold is his to decide).
    const robs = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0, leaseMs: MINUTE }))!;
    expect(await left(f, f.reviewer, T0)).toBe(7);
    expect(await left(f, f.reviewer2, T0)).toBe(8);

    // rita skips one and confirms one: 5 left for her; rob can still get the skipped one.
    const a = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0, leaseMs: MINUTE }))!;
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: a.itemId,
      action: 'skip',
      clientId: 'progress-a1',
      durationMs: 1,
      now: T0,
    });
    const b = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0, leaseMs: MINUTE }))!;
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: b.itemId,
      action: 'confirm',
      clientId: 'progress-b1',
      durationMs: 1,
      now: T0,
    });
    expect(await left(f, f.reviewer, T0)).toBe(5);
    expect(await left(f, f.reviewer2, T0)).toBe(7);

    // rob skips an item rita skipped too while he holds another: not counted twice for anyone.
    await submitReview(f.db, {
      actor: f.reviewer2,
      itemId: robs.itemId,
      action: 'unsure',
      clientId: 'progress-r1',
      durationMs: 1,
      now: T0,
    });
    expect(await left(f, f.reviewer2, T0)).toBe(6);
    expect(await left(f, f.reviewer, T0)).toBe(6);

    // rob's next claim is the item rita skipped (lowest confidence left for him): no change for her;
    // a second one, held alongside, is one fewer for her until that hold lapses.
    const robsNext = (await claimNext(f.db, {
      actor: f.reviewer2,
      catalogueId: f.catalogueId,
      now: T0,
      leaseMs: MINUTE,
    }))!;
    expect(robsNext.itemId).toBe(a.itemId);
    expect(await left(f, f.reviewer, T0)).toBe(6);
    await claimNext(f.db, {
      actor: f.reviewer2,
      catalogueId: f.catalogueId,
      holding: [robsNext.itemId],
      now: T0,
      leaseMs: MINUTE,
    });
    expect(await left(f, f.reviewer, T0)).toBe(5);
    expect(await left(f, f.reviewer, T0 + 2 * MINUTE)).toBe(6);

    for (const now of [T0, T0 + 2 * MINUTE])
      for (const actor of [f.reviewer, f.reviewer2])
        expect(await left(f, actor, now)).toBe(await countedLeft(f, actor.userId, now));
  });
});

describe('reviewProgress', () => {
  it('counts the session’s decisions from its start, undone ones not counted', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.3 }, { confidence: 0.4 }, { confidence: 0.5 }]);
    const decide = async (now: number, clientId: string) => {
      const item = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now }))!;
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: item.itemId,
        action: 'confirm',
        clientId,
        durationMs: 1,
        now,
      });
    };
    await decide(T0, 'session-before');
    const since = T0 + MINUTE;
    await decide(since + 1000, 'session-one');
    await decide(since + 2000, 'session-two');
    const progress = async (now: number) =>
      await reviewProgress(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, since, now });
    expect(await progress(since + 3000)).toEqual({ left: 0, decidedInSession: 2, sessionSince: new Date(since) });
    await undoLastReview(f.db, { actor: f.reviewer, clientId: 'session-undo', now: since + 4000 });
    expect(await progress(since + 5000)).toMatchObject({ left: 1, decidedInSession: 1 });
  });

  it('is for reviewers and admins only', async () => {
    const f = await makeFixture(tmp.dir, [{}]);
    await expectAppError(
      async () => await reviewProgress(f.db, { actor: f.ops, catalogueId: f.catalogueId, since: T0 }),
      'forbidden',
    );
    await expectAppError(
      async () => await reviewProgress(f.db, { actor: null, catalogueId: f.catalogueId, since: T0 }),
      'unauthorized',
    );
    expect((await reviewProgress(f.db, { actor: f.admin, catalogueId: f.catalogueId, since: T0, now: T0 })).left).toBe(
      1,
    );
  });
});
