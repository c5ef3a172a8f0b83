import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, leases, reviews } from '@/db/schema';
import { claimBatch, claimNext, DEFAULT_LEASE_MS, LEASE_EXPIRED_MESSAGE } from '@/lib/review/queue';
import { submitGridKeepingLive, undoAndReclaim } from '@/lib/review/grid-and-undo';
import { submitReview } from '@/lib/review/decisions';
import { expectAppError, makeFixture, tempDir } from './fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-review-actions-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

async function gridFixture() {
  const f = await makeFixture(tmp.dir, [
    { predictedClass: 2 },
    { predictedClass: 2 },
    { predictedClass: 2 },
    { predictedClass: 2 },
  ]);
  const batch = (
    await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 4,
      leaseMs: 60_000,
      now: T0,
    })
  ).map((c) => c.itemId);
  return { f, batch };
}

describe('submitGridKeepingLive', () => {
  it('records a whole grid of confirms and corrections', async () => {
    const { f, batch } = await gridFixture();
    const decisions = batch.map((itemId, i) => ({
      itemId,
      label: i === 1 ? 4 : null,
      clientId: `grid-all-${i}-x`,
      durationMs: 800,
    }));
    const outcome = await submitGridKeepingLive(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      decisions,
      now: T0 + 1000,
    });
    expect(outcome.map((o) => (o.status === 'recorded' ? [o.action, o.chosenLabel, o.replayed] : o.status))).toEqual([
      ['confirm', 2, false],
      ['correct', 4, false],
      ['confirm', 2, false],
      ['confirm', 2, false],
    ]);
    // A retry of the same request records nothing and answers the same, even with the holds gone.
    const again = await submitGridKeepingLive(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      decisions,
      now: T0 + 2000,
    });
    expect(again.every((o) => o.status === 'recorded' && o.replayed)).toBe(true);
    expect(await f.db.select().from(reviews)).toHaveLength(4);
  });

  it('records the decisions whose holds are live and reports the others as lost', async () => {
    const { f, batch } = await gridFixture();
    // Item 0's hold lapsed and another reviewer took it; item 3's lapsed and no one took it.
    await f.db
      .update(leases)
      .set({ expiresAt: new Date(T0 + 500) })
      .where(eq(leases.itemId, batch[0]!));
    await f.db
      .update(leases)
      .set({ expiresAt: new Date(T0 + 500) })
      .where(eq(leases.itemId, batch[3]!));
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 1000 }))!.itemId).toBe(
      batch[0],
    );
    const decisions = batch.map((itemId, i) => ({
      itemId,
      label: i === 2 ? 0 : null,
      clientId: `grid-some-${i}-x`,
      durationMs: 800,
    }));
    const outcome = await submitGridKeepingLive(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      decisions,
      now: T0 + 1000,
    });
    expect(outcome).toEqual([
      { itemId: batch[0], status: 'lost', message: LEASE_EXPIRED_MESSAGE },
      { itemId: batch[1], status: 'recorded', action: 'confirm', chosenLabel: 2, replayed: false },
      { itemId: batch[2], status: 'recorded', action: 'correct', chosenLabel: 0, replayed: false },
      { itemId: batch[3], status: 'lost', message: LEASE_EXPIRED_MESSAGE },
    ]);
    expect((await f.db.select({ itemId: reviews.itemId }).from(reviews)).map((r) => r.itemId)).toEqual([
      batch[1],
      batch[2],
    ]);
    expect(
      (await f.db.select({ status: items.status }).from(items).where(eq(items.id, batch[3]!)).limit(1).then(firstRow))
        ?.status,
    ).toBe('needs_review');
  });

  it('all lost writes nothing; a reused client id is still a conflict; ops is refused', async () => {
    const { f, batch } = await gridFixture();
    const late = T0 + 60_000;
    const decisions = batch.map((itemId, i) => ({
      itemId,
      label: null,
      clientId: `grid-late-${i}-x`,
      durationMs: 800,
    }));
    expect(
      (
        await submitGridKeepingLive(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, decisions, now: late })
      ).every((o) => o.status === 'lost'),
    ).toBe(true);
    expect(await f.db.select().from(reviews)).toEqual([]);

    const fresh = (
      await claimBatch(f.db, {
        actor: f.reviewer,
        catalogueId: f.catalogueId,
        predictedClass: 2,
        size: 1,
        now: late,
      })
    )[0]!.itemId;
    const other = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: late }))!;
    await submitReview(f.db, {
      actor: f.reviewer2,
      itemId: other.itemId,
      action: 'confirm',
      clientId: 'taken-client-id',
      durationMs: 10,
      now: late,
    });
    await expectAppError(
      async () =>
        await submitGridKeepingLive(f.db, {
          actor: f.reviewer,
          catalogueId: f.catalogueId,
          decisions: [{ itemId: fresh, label: null, clientId: 'taken-client-id', durationMs: 5 }],
          now: late,
        }),
      'conflict',
      /client id was already used/,
    );
    await expectAppError(
      async () =>
        await submitGridKeepingLive(f.db, {
          actor: f.ops,
          catalogueId: f.catalogueId,
          decisions: [{ itemId: fresh, label: null, clientId: 'ops-client-id', durationMs: 5 }],
        }),
      'forbidden',
    );
  });
});

describe('undoAndReclaim', () => {
  it('undoes the last decision and answers with the item, held again for the reviewer', async () => {
    const f = await makeFixture(tmp.dir, [{ predictedClass: 3, confidence: 0.4 }, { confidence: 0.6 }]);
    const claimed = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: claimed.itemId,
      action: 'correct',
      label: 1,
      clientId: 'undo-me-first',
      durationMs: 1200,
      now: T0 + 1000,
    });
    const outcome = await undoAndReclaim(f.db, { actor: f.reviewer, clientId: 'undo-request-1', now: T0 + 2000 });
    expect(outcome.undone).toMatchObject({ itemId: claimed.itemId, action: 'correct', chosenLabel: 1 });
    expect(outcome.replayed).toBe(false);
    expect(outcome.item).toMatchObject({
      itemId: claimed.itemId,
      predictedClass: 3,
      leaseExpiresAt: new Date(T0 + 2000 + DEFAULT_LEASE_MS),
    });
    expect(outcome.item!.top[0]).toMatchObject({ classIndex: 3, prob: 0.4 });
    // A retry answers the same without undoing anything else; after the hold lapses, item is null.
    expect(await undoAndReclaim(f.db, { actor: f.reviewer, clientId: 'undo-request-1', now: T0 + 3000 })).toMatchObject(
      {
        replayed: true,
        item: { itemId: claimed.itemId },
      },
    );
    expect(
      await undoAndReclaim(f.db, { actor: f.reviewer, clientId: 'undo-request-1', now: T0 + 2000 + DEFAULT_LEASE_MS }),
    ).toMatchObject({ replayed: true, item: null });
    await expectAppError(
      async () => await undoAndReclaim(f.db, { actor: f.reviewer, clientId: 'undo-request-2', now: T0 + 4000 }),
      'not_found',
    );
    await expectAppError(
      async () => await undoAndReclaim(f.db, { actor: f.ops, clientId: 'undo-request-3' }),
      'forbidden',
    );
  });
});
