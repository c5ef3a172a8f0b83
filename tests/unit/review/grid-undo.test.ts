import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, jobs, leases, queueCounts, reviews } from '@/db/schema';
import { reviewerStats, undoLastReview } from '@/lib/review/decisions';
import { submitGridKeepingLive } from '@/lib/review/grid-and-undo';
import { GRID_UNDO_WINDOW_MS, undoGridSubmit } from '@/lib/review/grid-undo';
import { claimBatch } from '@/lib/review/queue';
import { expectAppError, makeFixture, tempDir } from './fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-grid-undo-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

/** Four items the model put in class 2 (one came with import label 1), claimed and submitted as a grid. */
async function submittedGrid() {
  const f = await makeFixture(tmp.dir, [
    { predictedClass: 2, confidence: 0.9 },
    { predictedClass: 2, confidence: 0.8, importLabel: 1 },
    { predictedClass: 2, confidence: 0.7 },
    { predictedClass: 2, confidence: 0.6 },
    { predictedClass: 3, confidence: 0.5 },
  ]);
  const batch = (
    await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 4,
      now: T0,
    })
  ).map((c) => c.itemId);
  const decisions = batch.map((itemId, i) => ({
    itemId,
    label: i === 2 ? 4 : null,
    clientId: `grid-undo-${i}-${f.catalogueId}`,
    durationMs: 500,
  }));
  const outcome = await submitGridKeepingLive(f.db, {
    actor: f.reviewer,
    catalogueId: f.catalogueId,
    decisions,
    now: T0 + 1000,
  });
  expect(outcome.every((o) => o.status === 'recorded')).toBe(true);
  const clientIds = decisions.map((d) => d.clientId);
  return { f, batch, clientIds };
}

describe('undoGridSubmit', () => {
  it('reverts the whole submit: undo rows beside the originals, items back in the queue and held again', async () => {
    const { f, batch, clientIds } = await submittedGrid();
    expect((await f.db.select().from(queueCounts).limit(1).then(firstRow))?.waiting).toBe(1);
    expect((await reviewerStats(f.db, { actor: f.reviewer, since: T0, now: T0 + 2000 })).decisionsToday).toBe(4);

    const result = await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 5000 });
    expect(result.replayed).toBe(false);
    expect(result.undone.map((u) => [u.itemId, u.action, u.chosenLabel])).toEqual([
      [batch[0], 'confirm', 2],
      [batch[1], 'confirm', 2],
      [batch[2], 'correct', 4],
      [batch[3], 'confirm', 2],
    ]);

    // Review rows: the originals stay; one undo row per decision names it.
    const rows = await f.db.select().from(reviews).where(inArray(reviews.itemId, batch)).orderBy(reviews.id);
    expect(rows.map((r) => r.action)).toEqual([
      'confirm',
      'confirm',
      'correct',
      'confirm',
      'undo',
      'undo',
      'undo',
      'undo',
    ]);
    const originals = rows.slice(0, 4);
    expect(rows.slice(4).map((r) => [r.revertsReviewId, r.reviewerId, r.chosenLabel])).toEqual(
      originals.map((o) => [o.id, f.reviewer.userId, null]),
    );

    // Items: waiting again, with the label they had in the queue (the import label where there was one).
    const state = await f.db
      .select({ id: items.id, status: items.status, label: items.currentLabel, source: items.labelSource })
      .from(items)
      .where(inArray(items.id, batch))
      .orderBy(items.id);
    expect(state).toEqual(
      [...batch]
        .sort((a, b) => a - b)
        .map((id) =>
          id === f.itemIds[1]
            ? { id, status: 'needs_review', label: 1, source: 'import' }
            : { id, status: 'needs_review', label: 2, source: 'model' },
        ),
    );
    // Queue state: counted as waiting again, each held by the reviewer on a fresh lease.
    expect((await f.db.select().from(queueCounts).limit(1).then(firstRow))?.waiting).toBe(5);
    const held = await f.db.select().from(leases).where(inArray(leases.itemId, batch));
    expect(held.map((l) => [l.reviewerId, l.expiresAt.getTime()])).toEqual(
      batch.map(() => [f.reviewer.userId, result.leaseExpiresAt.getTime()]),
    );
    // Figures: the undone decisions no longer count.
    expect((await reviewerStats(f.db, { actor: f.reviewer, since: T0, now: T0 + 6000 })).decisionsToday).toBe(0);
    // The grid can be decided again: a reload hands the same batch back.
    const reloaded = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 4,
      now: T0 + 7000,
    });
    expect(reloaded.map((c) => c.itemId)).toEqual(batch);
  });

  it('is safe to retry: a second undo writes nothing and answers replayed', async () => {
    const { f, clientIds } = await submittedGrid();
    await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 5000 });
    const count = (await f.db.select().from(reviews)).length;
    expect((await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 6000 })).replayed).toBe(true);
    expect(await f.db.select().from(reviews)).toHaveLength(count);
  });

  it('leaves a decision the focus view already undid alone and undoes the rest', async () => {
    const { f, batch, clientIds } = await submittedGrid();
    await undoLastReview(f.db, { actor: f.reviewer, clientId: 'focus-undo-1', now: T0 + 2000 });
    const result = await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 3000 });
    expect(result.undone).toHaveLength(4);
    expect(await f.db.select().from(reviews).where(eq(reviews.action, 'undo'))).toHaveLength(4);
    expect(
      (await f.db.select({ status: items.status }).from(items).where(inArray(items.id, batch))).every(
        (row) => row.status === 'needs_review',
      ),
    ).toBe(true);
  });

  it('refuses after the window, and writes nothing', async () => {
    const { f, batch, clientIds } = await submittedGrid();
    await expectAppError(
      async () =>
        await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 1000 + GRID_UNDO_WINDOW_MS + 1 }),
      'conflict',
      /more than 2 minutes old/,
    );
    expect(await f.db.select().from(reviews).where(eq(reviews.action, 'undo'))).toEqual([]);
    expect(await f.db.select().from(leases).where(inArray(leases.itemId, batch))).toEqual([]);
  });

  it('refuses someone else’s decisions, and the signed-out and ops', async () => {
    const { f, clientIds } = await submittedGrid();
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: f.reviewer2, clientIds, now: T0 + 2000 }),
      'forbidden',
      /Only your own decisions/,
    );
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: f.ops, clientIds, now: T0 + 2000 }),
      'forbidden',
    );
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: null, clientIds, now: T0 + 2000 }),
      'unauthorized',
    );
    await expectAppError(
      async () =>
        await undoGridSubmit(f.db, {
          actor: f.reviewer,
          clientIds: [...clientIds, 'never-recorded-1'],
          now: T0 + 2000,
        }),
      'not_found',
      /1 of these decisions were never recorded/,
    );
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: f.reviewer, clientIds: [], now: T0 + 2000 }),
      'bad_input',
    );
    expect(await f.db.select().from(reviews).where(eq(reviews.action, 'undo'))).toEqual([]);
  });

  it('refuses when an item was reviewed again after the submit, naming it, and undoes none', async () => {
    const { f, batch, clientIds } = await submittedGrid();
    // E.g. an item sent back to review by a later routing change and decided by someone else.
    await f.db.update(items).set({ status: 'needs_review' }).where(eq(items.id, batch[3]!));
    await f.db.insert(reviews).values({
      itemId: batch[3]!,
      reviewerId: f.reviewer2.userId,
      action: 'skip',
      durationMs: 1,
      clientId: 'later-review-1',
      createdAt: new Date(T0 + 2000),
    });
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 3000 }),
      'conflict',
      new RegExp(`Item #${batch[3]} was reviewed again after your submit; nothing was undone`),
    );
    expect(await f.db.select().from(reviews).where(eq(reviews.action, 'undo'))).toEqual([]);
    expect(
      await f.db.select({ status: items.status }).from(items).where(eq(items.id, batch[0]!)).limit(1).then(firstRow),
    ).toEqual({
      status: 'reviewed',
    });
  });

  it('refuses once a training of the catalogue started after the submit', async () => {
    const { f, clientIds } = await submittedGrid();
    await f.db.insert(jobs).values({
      kind: 'train',
      payload: { catalogueId: f.catalogueId, reason: 'labels' },
      createdAt: new Date(T0 + 1500),
    });
    await expectAppError(
      async () => await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 3000 }),
      'conflict',
      /training started after your submit/,
    );
    // A training of another catalogue, or one that started before, does not matter.
    await f.db.delete(jobs);
    await f.db.insert(jobs).values({
      kind: 'train',
      payload: { catalogueId: f.catalogueId + 1000, reason: 'labels' },
      createdAt: new Date(T0 + 1500),
    });
    await f.db
      .insert(jobs)
      .values({ kind: 'train', payload: { catalogueId: f.catalogueId, reason: 'labels' }, createdAt: new Date(T0) });
    expect((await undoGridSubmit(f.db, { actor: f.reviewer, clientIds, now: T0 + 3000 })).undone).toHaveLength(4);
  });
});
