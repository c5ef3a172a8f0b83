import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, firstRow } from '@/db/client';
import { items, leases, reviews } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { claimBatch, claimNext, DEFAULT_LEASE_MS } from '@/lib/review/queue';
import { releaseLeases, renewLeases } from '@/lib/review/leases';
import { submitReview } from '@/lib/review/decisions';
import { createUserAsSystem } from '@/lib/auth/users';
import { expectAppError, makeFixture, tempDir } from './fixtures';
import { closeDb } from '@/db/client';

const tmp = tempDir('loupe-queue-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

describe('claimNext', () => {
  it('hands out the most uncertain item first: confidence, then margin, then id; unscored last', async () => {
    const f = await makeFixture(tmp.dir, [
      { confidence: 0.6 }, // 0
      { confidence: 0.3, margin: 0.2 }, // 1
      { confidence: 0.3, margin: 0.1 }, // 2
      { confidence: 0.1, status: 'auto_accepted' }, // 3: not in the queue
      { confidence: 0.3, margin: 0.1 }, // 4: ties with 2, larger id
      { unscored: true }, // 5: no prediction by the active model
      { confidence: 0.2, status: 'reviewed' }, // 6: not in the queue
      { confidence: 0.9 }, // 7
    ]);
    const order: number[] = [];
    // Skipping takes each item out of this reviewer's queue, so the next claim shows the next one.
    for (
      let claimed = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 });
      claimed && order.length < 20;
      claimed = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 })
    ) {
      order.push(claimed.itemId);
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: claimed.itemId,
        action: 'skip',
        clientId: `order-item-${claimed.itemId}`,
        durationMs: 100,
        now: T0,
      });
    }
    expect(order).toEqual([2, 4, 1, 0, 7, 5].map((i) => f.itemIds[i]));
  });

  it('returns the item with top-3 predictions and the lease expiry, without pixels (the image route serves them)', async () => {
    const f = await makeFixture(tmp.dir, [{ predictedClass: 3, confidence: 0.7 }]);
    const claimed = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect(claimed.itemId).toBe(f.itemIds[0]);
    expect(claimed.modelVersionId).toBe(f.modelVersionId);
    expect(claimed.predictedClass).toBe(3);
    expect(claimed.top).toHaveLength(3);
    expect(claimed.top[0]).toEqual({ classIndex: 3, className: 'three', prob: 0.7 });
    expect(claimed.top[1]!.prob).toBeLessThanOrEqual(claimed.top[0]!.prob);
    expect(claimed).not.toHaveProperty('pixelsBase64');
    expect(claimed.leaseExpiresAt.getTime()).toBe(T0 + DEFAULT_LEASE_MS);
    expect(await f.db.select().from(leases)).toEqual([
      { itemId: claimed.itemId, reviewerId: f.reviewer.userId, expiresAt: new Date(T0 + DEFAULT_LEASE_MS) },
    ]);
  });

  it('a reviewer holding a live lease gets that item back, renewed; `holding` asks for another (prefetch)', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }, { confidence: 0.4 }, { confidence: 0.6 }]);
    const first = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    const again = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + 1000 }))!;
    expect(again.itemId).toBe(first.itemId);
    expect(again.leaseExpiresAt.getTime()).toBe(T0 + 1000 + DEFAULT_LEASE_MS);
    const prefetched = (await claimNext(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      holding: [first.itemId],
      now: T0 + 2000,
    }))!;
    expect(prefetched.itemId).toBe(f.itemIds[1]);
    // After a reload the client holds nothing: it gets its oldest held item, not a third.
    expect((await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + 3000 }))!.itemId).toBe(
      first.itemId,
    );
    expect(await f.db.select().from(leases).where(eq(leases.reviewerId, f.reviewer.userId))).toHaveLength(2);
  });

  it('an item the page shows is not handed out again by a prefetch after its hold lapsed', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }, { confidence: 0.4 }]);
    const shown = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect((await releaseLeases(f.db, { actor: f.reviewer, itemIds: [shown.itemId] })).released).toEqual([
      shown.itemId,
    ]);
    // Free again and still the most uncertain, but the page names it: the prefetch gets the next.
    const prefetched = (await claimNext(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      holding: [shown.itemId],
      now: T0 + 1000,
    }))!;
    expect(prefetched.itemId).toBe(f.itemIds[1]);
    // Without it on the page (a reload), the lapsed item is handed out again as usual.
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 2000 }))!.itemId).toBe(
      shown.itemId,
    );
  });

  it('returns null when the queue is empty or everything is held', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }]);
    expect(await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 })).not.toBeNull();
    expect(await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 })).toBeNull();
    await expectAppError(
      async () => await claimNext(f.db, { actor: f.reviewer, catalogueId: 999, now: T0 }),
      'not_found',
    );
  });

  it('an expired lease returns the item to the queue; the first holder can no longer renew it', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }, { confidence: 0.5 }]);
    const a = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, leaseMs: 60_000, now: T0 }))!;
    expect(
      (await renewLeases(f.db, { actor: f.reviewer, itemIds: [a.itemId], leaseMs: 60_000, now: T0 + 30_000 })).renewed,
    ).toEqual([{ itemId: a.itemId, expiresAt: new Date(T0 + 90_000) }]);
    // Still held at T0 + 89 s: the other reviewer gets the next item.
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 89_000 }))!.itemId).toBe(
      f.itemIds[1],
    );
    // Expired at T0 + 90 s: the other reviewer (holding item 1 on screen) gets item 0.
    const b = (await claimNext(f.db, {
      actor: f.reviewer2,
      catalogueId: f.catalogueId,
      holding: [f.itemIds[1]!],
      now: T0 + 90_000,
    }))!;
    expect(b.itemId).toBe(a.itemId);
    expect(await renewLeases(f.db, { actor: f.reviewer, itemIds: [a.itemId], now: T0 + 91_000 })).toEqual({
      renewed: [],
      lost: [a.itemId],
    });
    expect(
      (await f.db.select().from(leases).where(eq(leases.itemId, a.itemId)).limit(1).then(firstRow))?.reviewerId,
    ).toBe(f.reviewer2.userId);
    // An expired lease cannot be renewed by its own holder either.
    expect(
      (await renewLeases(f.db, { actor: f.reviewer2, itemIds: [b.itemId], now: T0 + 90_000 + DEFAULT_LEASE_MS })).lost,
    ).toEqual([b.itemId]);
  });

  it('release gives the item back at once, only for its holder', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }]);
    const a = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect((await releaseLeases(f.db, { actor: f.reviewer2, itemIds: [a.itemId] })).released).toEqual([]);
    expect(await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 })).toBeNull();
    expect((await releaseLeases(f.db, { actor: f.reviewer, itemIds: [a.itemId] })).released).toEqual([a.itemId]);
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!.itemId).toBe(a.itemId);
  });

  it('a reviewer is not handed again an item they skipped; another reviewer is', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }, { confidence: 0.5 }]);
    const a = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: a.itemId,
      action: 'skip',
      clientId: 'skip-0001',
      durationMs: 900,
      now: T0,
    });
    expect((await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!.itemId).toBe(
      f.itemIds[1],
    );
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!.itemId).toBe(a.itemId);
  });

  it('only items.review may claim, renew or release: ops and signed-out are refused', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }]);
    await expectAppError(async () => await claimNext(f.db, { actor: f.ops, catalogueId: f.catalogueId }), 'forbidden');
    await expectAppError(
      async () => await claimBatch(f.db, { actor: f.ops, catalogueId: f.catalogueId, predictedClass: 0, size: 5 }),
      'forbidden',
    );
    await expectAppError(async () => await renewLeases(f.db, { actor: f.ops, itemIds: [f.itemIds[0]!] }), 'forbidden');
    await expectAppError(
      async () => await releaseLeases(f.db, { actor: f.ops, itemIds: [f.itemIds[0]!] }),
      'forbidden',
    );
    await expectAppError(
      async () => await claimNext(f.db, { actor: null, catalogueId: f.catalogueId }),
      'unauthorized',
    );
    expect(await f.db.select().from(leases)).toEqual([]);
    // Admins review too.
    expect(await claimNext(f.db, { actor: f.admin, catalogueId: f.catalogueId })).not.toBeNull();
    await expectAppError(
      async () => await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, leaseMs: 5 }),
      'bad_input',
      /^leaseMs: /,
    );
  });
});

describe('claimBatch', () => {
  it('leases up to N free items of one predicted class, most confident first, and returns held ones on reload', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 1, confidence: 0.5 },
      { predictedClass: 1, confidence: 0.8 },
      { predictedClass: 2, confidence: 0.8 },
      { predictedClass: 1, confidence: 0.7 },
      { predictedClass: 1, confidence: 0.6 },
    ]);
    const other = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!; // item 0, the least confident
    expect(other.itemId).toBe(f.itemIds[0]);
    const batch = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 1,
      size: 2,
      now: T0,
    });
    expect(batch.map((b) => b.itemId)).toEqual([f.itemIds[1], f.itemIds[3]]);
    expect(batch.every((b) => b.predictedClass === 1)).toBe(true);
    const reload = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 1,
      size: 3,
      now: T0 + 1000,
    });
    expect(reload.map((b) => b.itemId)).toEqual([f.itemIds[1], f.itemIds[3], f.itemIds[4]]);
    // Everything else in class 1 is held by the first reviewer: the second gets only what it already holds.
    expect(
      (
        await claimBatch(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, predictedClass: 1, size: 5, now: T0 })
      ).map((b) => b.itemId),
    ).toEqual([other.itemId]);
    await expectAppError(
      async () => await claimBatch(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, predictedClass: 7, size: 5 }),
      'bad_input',
      /predictedClass/,
    );
  });
});

describe('concurrency', () => {
  it('reviewers on two connections, claiming in interleaved turns, never hold the same item', async () => {
    const count = 60;
    const f = await makeFixture(
      tmp.dir,
      Array.from({ length: count }, (_, i) => ({ confidence: 0.2 + ((i * 37) % count) / (count * 2) })),
    );
    const second = openDb(f.file);
    const extra = await createUserAsSystem(f.db, {
      email: 'third@example.test',
      name: 'Third',
      password: 'correct horse battery',
      role: 'reviewer',
      passwordCost: 4,
    });
    const third: Actor = { userId: extra.id, role: 'reviewer', email: extra.email };
    const seats = [
      { db: f.db, actor: f.reviewer },
      { db: second, actor: f.reviewer2 },
      { db: second, actor: third },
      { db: f.db, actor: f.admin },
    ];
    const holder = new Map<number, number>();
    const decided = new Set<number>();
    let now = T0;
    for (let turn = 0; decided.size < count && turn < 1000; turn++) {
      const seat = seats[turn % seats.length]!;
      now += 1000;
      const claimed = await claimNext(seat.db, { actor: seat.actor, catalogueId: f.catalogueId, now });
      if (!claimed) continue;
      const current = holder.get(claimed.itemId);
      expect(current === undefined || current === seat.actor.userId).toBe(true);
      expect(decided.has(claimed.itemId)).toBe(false);
      holder.set(claimed.itemId, seat.actor.userId);
      // Decide on some turns, release on a few, keep holding on others (a slow reviewer).
      if (turn % 5 === 3) {
        await releaseLeases(seat.db, { actor: seat.actor, itemIds: [claimed.itemId] });
        holder.delete(claimed.itemId);
      } else if (turn % 3 !== 2) {
        await submitReview(seat.db, {
          actor: seat.actor,
          itemId: claimed.itemId,
          action: 'confirm',
          clientId: `turn-${turn}-cid`,
          durationMs: 1000,
          now,
        });
        holder.delete(claimed.itemId);
        decided.add(claimed.itemId);
      }
    }
    expect(decided.size).toBe(count);
    const confirms = (await f.db.select({ itemId: reviews.itemId }).from(reviews)).map((r) => r.itemId);
    expect(new Set(confirms).size).toBe(confirms.length);
    expect(await f.db.select().from(items).where(eq(items.status, 'needs_review'))).toEqual([]);
    await closeDb(second);
  });
});
