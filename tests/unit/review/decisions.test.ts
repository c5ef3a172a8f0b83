import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, leases, reviews } from '@/db/schema';
import { claimBatch, claimNext } from '@/lib/review/queue';
import { recordReview, reviewerStats, submitGridReview, submitReview, undoLastReview } from '@/lib/review/decisions';
import { expectAppError, makeFixture, tempDir, type Fixture } from './fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-reviews-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

async function itemRow(f: Fixture, id: number) {
  return (await f.db.select().from(items).where(eq(items.id, id)).limit(1).then(firstRow))!;
}

async function claimed(specs: Parameters<typeof makeFixture>[1] = [{ predictedClass: 2, confidence: 0.4 }]) {
  const f = await makeFixture(tmp.dir, specs);
  const item = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
  return { f, item };
}

describe('submitReview', () => {
  it('confirm records the model answer and labels the item as human-reviewed; a retry records nothing', async () => {
    const { f, item } = await claimed();
    const input = {
      actor: f.reviewer,
      itemId: item.itemId,
      action: 'confirm' as const,
      clientId: 'confirm-0001',
      durationMs: 1500,
      now: T0 + 1000,
    };
    const first = await submitReview(f.db, input);
    expect(first.replayed).toBe(false);
    expect(first.review).toMatchObject({
      itemId: item.itemId,
      reviewerId: f.reviewer.userId,
      modelVersionId: f.modelVersionId,
      modelLabel: 2,
      chosenLabel: 2,
      action: 'confirm',
      durationMs: 1500,
    });
    expect(await itemRow(f, item.itemId)).toMatchObject({ currentLabel: 2, labelSource: 'human', status: 'reviewed' });
    expect(await f.db.select().from(leases)).toEqual([]);
    // The retry arrives after the lease is gone: still the first result, no second row.
    const retry = await submitReview(f.db, { ...input, now: T0 + 60 * 60_000 });
    expect(retry).toEqual({ review: first.review, replayed: true });
    expect(await f.db.select().from(reviews)).toHaveLength(1);
    // The same client id for another item or by another reviewer is a conflict.
    await expectAppError(
      async () => await submitReview(f.db, { ...input, actor: f.reviewer2 }),
      'conflict',
      /client id/,
    );
  });

  it('correct sets the chosen class; correcting to the model answer is recorded as confirm', async () => {
    const { f, item } = await claimed([
      { predictedClass: 2, confidence: 0.4 },
      { predictedClass: 3, confidence: 0.5 },
    ]);
    expect(
      (
        await submitReview(f.db, {
          actor: f.reviewer,
          itemId: item.itemId,
          action: 'correct',
          label: 4,
          clientId: 'correct-0001',
          durationMs: 2000,
          now: T0,
        })
      ).review,
    ).toMatchObject({ action: 'correct', modelLabel: 2, chosenLabel: 4 });
    expect(await itemRow(f, item.itemId)).toMatchObject({ currentLabel: 4, labelSource: 'human', status: 'reviewed' });
    const next = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect(
      (
        await submitReview(f.db, {
          actor: f.reviewer,
          itemId: next.itemId,
          action: 'correct',
          label: 3,
          clientId: 'correct-0002',
          durationMs: 2000,
          now: T0,
        })
      ).review,
    ).toMatchObject({ action: 'confirm', modelLabel: 3, chosenLabel: 3 });
  });

  it('skip and unsure leave the label and put the item back in the queue', async () => {
    const { f, item } = await claimed();
    const before = await itemRow(f, item.itemId);
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: item.itemId,
      action: 'unsure',
      clientId: 'unsure-0001',
      durationMs: 4000,
      now: T0,
    });
    expect(await itemRow(f, item.itemId)).toEqual(before);
    expect(before.status).toBe('needs_review');
    expect(await f.db.select().from(leases)).toEqual([]);
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!.itemId).toBe(
      item.itemId,
    );
  });

  it('a lost lease is a 409 and writes nothing', async () => {
    const { f, item } = await claimed();
    const late = T0 + 5 * 60_000;
    await expectAppError(
      async () =>
        await submitReview(f.db, {
          actor: f.reviewer,
          itemId: item.itemId,
          action: 'confirm',
          clientId: 'late-00001',
          durationMs: 1,
          now: late,
        }),
      'conflict',
      /Your hold on this item expired/,
    );
    // Someone else's lease does not count either.
    await expectAppError(
      async () =>
        await submitReview(f.db, {
          actor: f.reviewer2,
          itemId: item.itemId,
          action: 'confirm',
          clientId: 'other-0001',
          durationMs: 1,
          now: T0,
        }),
      'conflict',
    );
    expect(await f.db.select().from(reviews)).toEqual([]);
    expect(await itemRow(f, item.itemId)).toMatchObject({ status: 'needs_review', labelSource: 'model' });
    expect(await f.db.select().from(leases)).toHaveLength(1);
  });

  it('bad input is bad_input with a readable message, and writes nothing', async () => {
    const { f, item } = await claimed();
    const base = { actor: f.reviewer, itemId: item.itemId, clientId: 'bad-000001', durationMs: 10, now: T0 };
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'correct' }),
      'bad_input',
      /^label: a correction needs the class chosen$/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'correct', label: 5 }),
      'bad_input',
      /^label: this catalogue has classes 0-4\.$/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'confirm', label: 1 }),
      'bad_input',
      /send action "correct"/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'skip', label: 1 }),
      'bad_input',
      /^label: skip takes no label$/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'approve' as 'confirm' }),
      'bad_input',
      /^action: an action is one of confirm, correct, skip, unsure$/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'confirm', clientId: 'x' }),
      'bad_input',
      /^clientId: /,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'confirm', durationMs: -1 }),
      'bad_input',
      /^durationMs: a duration cannot be negative$/,
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, action: 'confirm', itemId: 99_999 }),
      'not_found',
    );
    await expectAppError(
      async () => await submitReview(f.db, { ...base, actor: f.ops, action: 'confirm' }),
      'forbidden',
    );
    expect(await f.db.select().from(reviews)).toEqual([]);
    expect(await f.db.select().from(leases)).toHaveLength(1);
  });
});

describe('recordReview (the API route, body already parsed)', () => {
  it('records a parsed decision, and still refuses a role that may not review', async () => {
    const { f, item } = await claimed();
    const review = {
      itemId: item.itemId,
      action: 'correct' as const,
      label: 4,
      clientId: 'parsed-0001',
      durationMs: 900,
    };
    await expectAppError(async () => await recordReview(f.db, { actor: f.ops, review, now: T0 + 500 }), 'forbidden');
    expect(await f.db.select().from(reviews)).toEqual([]);
    const result = await recordReview(f.db, { actor: f.reviewer, review, now: T0 + 1000 });
    expect(result.review).toMatchObject({ itemId: item.itemId, action: 'correct', chosenLabel: 4, modelLabel: 2 });
    expect(await itemRow(f, item.itemId)).toMatchObject({ currentLabel: 4, labelSource: 'human', status: 'reviewed' });
  });
});

describe('submitGridReview', () => {
  const grid = [1, 2, 3].map((k) => ({ predictedClass: 1, confidence: 0.5 + k / 10 }));

  it('confirms and corrects a whole grid in one go', async () => {
    const f = await makeFixture(tmp.dir, grid);
    const batch = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 1,
      size: 3,
      now: T0,
    });
    const decisions = batch.map((b, i) => ({
      itemId: b.itemId,
      label: i === 1 ? 4 : null,
      clientId: `grid-cid-${i}`,
      durationMs: 300,
    }));
    const results = await submitGridReview(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, decisions, now: T0 });
    expect(results.map((r) => r.review.action)).toEqual(['confirm', 'correct', 'confirm']);
    expect(await Promise.all(batch.map(async (b) => (await itemRow(f, b.itemId)).currentLabel))).toEqual([1, 4, 1]);
    // Retrying the same submit records nothing more.
    expect(
      (
        await submitGridReview(f.db, {
          actor: f.reviewer,
          catalogueId: f.catalogueId,
          decisions,
          now: T0 + 10 * 60_000,
        })
      ).every((r) => r.replayed),
    ).toBe(true);
    expect(await f.db.select().from(reviews)).toHaveLength(3);
  });

  it('one lost lease and nothing is recorded', async () => {
    const f = await makeFixture(tmp.dir, grid);
    const batch = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 1,
      size: 3,
      now: T0,
    });
    await f.db.delete(leases).where(eq(leases.itemId, batch[2]!.itemId));
    const decisions = batch.map((b, i) => ({
      itemId: b.itemId,
      label: null,
      clientId: `grid-lost-${i}`,
      durationMs: 300,
    }));
    await expectAppError(
      async () => await submitGridReview(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, decisions, now: T0 }),
      'conflict',
      /expired/,
    );
    expect(await f.db.select().from(reviews)).toEqual([]);
    expect(await Promise.all(batch.map(async (b) => (await itemRow(f, b.itemId)).status))).toEqual([
      'needs_review',
      'needs_review',
      'needs_review',
    ]);
    expect(await f.db.select().from(leases)).toHaveLength(2);
    await expectAppError(
      async () =>
        await submitGridReview(f.db, {
          actor: f.reviewer,
          catalogueId: f.catalogueId,
          decisions: [decisions[0]!, decisions[0]!],
          now: T0,
        }),
      'bad_input',
      /each item appears once/,
    );
  });
});

describe('undoLastReview', () => {
  it('reverts the last confirm/correct, appends an undo row, and hands the item back to its reviewer', async () => {
    const { f, item } = await claimed([
      { predictedClass: 2, confidence: 0.4 },
      { predictedClass: 0, confidence: 0.5, importLabel: 3 },
    ]);
    const corrected = (
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: item.itemId,
        action: 'correct',
        label: 0,
        clientId: 'undo-a-0001',
        durationMs: 100,
        now: T0,
      })
    ).review;
    const second = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    const confirmed = (
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: second.itemId,
        action: 'confirm',
        clientId: 'undo-a-0002',
        durationMs: 100,
        now: T0,
      })
    ).review;

    const undo = await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-u-0001', now: T0 + 60_000 });
    expect(undo).toMatchObject({
      itemId: second.itemId,
      replayed: false,
      undone: confirmed,
      undo: { action: 'undo', revertsReviewId: confirmed.id },
    });
    // An item imported with a label gets its import label back.
    expect(await itemRow(f, second.itemId)).toMatchObject({
      currentLabel: 3,
      labelSource: 'import',
      status: 'needs_review',
    });
    expect((await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + 61_000 }))!.itemId).toBe(
      second.itemId,
    );
    // A retried undo changes nothing more.
    expect(
      (await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-u-0001', now: T0 + 62_000 })).replayed,
    ).toBe(true);
    expect((await itemRow(f, item.itemId)).status).toBe('reviewed');

    // A second undo reaches the decision before; the model's answer comes back.
    expect(
      (await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-u-0002', now: T0 + 63_000 })).undone.id,
    ).toBe(corrected.id);
    expect(await itemRow(f, item.itemId)).toMatchObject({
      currentLabel: 2,
      labelSource: 'model',
      status: 'needs_review',
    });
    await expectAppError(
      async () => await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-u-0003', now: T0 + 64_000 }),
      'not_found',
    );
    expect(await f.db.select().from(reviews)).toHaveLength(4);
    // The redo is an ordinary decision again.
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: second.itemId,
      action: 'correct',
      label: 1,
      clientId: 'undo-a-0003',
      durationMs: 100,
      now: T0 + 65_000,
    });
    expect(await itemRow(f, second.itemId)).toMatchObject({
      currentLabel: 1,
      labelSource: 'human',
      status: 'reviewed',
    });
  });

  it('refuses after the window, and for ops', async () => {
    const { f, item } = await claimed();
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: item.itemId,
      action: 'confirm',
      clientId: 'old-000001',
      durationMs: 100,
      now: T0,
    });
    await expectAppError(
      async () => await undoLastReview(f.db, { actor: f.ops, clientId: 'undo-ops-01' }),
      'forbidden',
    );
    await expectAppError(
      async () => await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-old-01', now: T0 + 11 * 60_000 }),
      'conflict',
      /10 minutes/,
    );
    expect((await itemRow(f, item.itemId)).status).toBe('reviewed');
    expect(await f.db.select().from(reviews)).toHaveLength(1);
  });
});

describe('reviewerStats', () => {
  it("counts today's decisions (undone ones not) and the median seconds", async () => {
    const f = await makeFixture(
      tmp.dir,
      [0.1, 0.2, 0.3, 0.4].map((confidence) => ({ confidence })),
    );
    const durations = [2000, 4000, 9000, 1000];
    for (const [i, durationMs] of durations.entries()) {
      const item = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: item.itemId,
        action: i === 3 ? 'skip' : 'confirm',
        clientId: `stats-cid-${i}`,
        durationMs,
        now: T0 + i,
      });
    }
    await undoLastReview(f.db, { actor: f.reviewer, clientId: 'stats-undo', now: T0 + 10 }); // reverts the 9 s confirm
    const stats = await reviewerStats(f.db, { actor: f.reviewer, now: T0 + 20, since: T0 - 1000 });
    expect(stats.decisionsToday).toBe(3);
    expect(stats.byAction).toEqual({ confirm: 2, correct: 0, skip: 1, unsure: 0 });
    expect(stats.medianSeconds).toBe(2);
    expect((await reviewerStats(f.db, { actor: f.reviewer2, now: T0 })).medianSeconds).toBeNull();
    expect((await reviewerStats(f.db, { actor: f.reviewer, since: T0 + 5 })).decisionsToday).toBe(0);
    await expectAppError(async () => await reviewerStats(f.db, { actor: f.ops }), 'forbidden');
  });
});
