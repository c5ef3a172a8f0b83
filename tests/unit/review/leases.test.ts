import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { leases } from '@/db/schema';
import { claimBatch, claimNext, DEFAULT_LEASE_MS } from '@/lib/review/queue';
import { describeHeldItem, releaseLeases, renewLeases } from '@/lib/review/leases';
import { expectAppError, makeFixture, tempDir } from './fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-queue-leases-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

describe('renewLeases', () => {
  it('renews the live holds of the actor and reports the rest as lost, without taking any', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 1 },
      { predictedClass: 1 },
      { predictedClass: 1 },
      { predictedClass: 1 },
    ]);
    const mine = (
      await claimBatch(f.db, {
        actor: f.reviewer,
        catalogueId: f.catalogueId,
        predictedClass: 1,
        size: 2,
        leaseMs: 60_000,
        now: T0,
      })
    ).map((c) => c.itemId);
    const theirs = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!.itemId;
    const free = f.itemIds.find((id) => !mine.includes(id) && id !== theirs)!;
    const result = await renewLeases(f.db, {
      actor: f.reviewer,
      itemIds: [...mine, theirs, free, mine[0]!],
      now: T0 + 30_000,
    });
    expect(result.renewed).toEqual(
      mine.map((itemId) => ({ itemId, expiresAt: new Date(T0 + 30_000 + DEFAULT_LEASE_MS) })),
    );
    expect(result.lost).toEqual([theirs, free]);
    // Nothing was taken: the free item stays free, the other reviewer keeps theirs.
    expect(await f.db.select().from(leases).where(eq(leases.itemId, free)).limit(1).then(firstRow)).toBeUndefined();
    expect(
      (await f.db.select().from(leases).where(eq(leases.itemId, theirs)).limit(1).then(firstRow))?.reviewerId,
    ).toBe(f.reviewer2.userId);
  });

  it('an expired hold is lost even to its own holder', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }]);
    const a = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, leaseMs: 60_000, now: T0 }))!;
    expect(await renewLeases(f.db, { actor: f.reviewer, itemIds: [a.itemId], now: T0 + 60_000 })).toEqual({
      renewed: [],
      lost: [a.itemId],
    });
  });

  it('refuses ops, the signed-out, an empty list and more than 60 items', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.2 }]);
    await expectAppError(async () => await renewLeases(f.db, { actor: f.ops, itemIds: [f.itemIds[0]!] }), 'forbidden');
    await expectAppError(
      async () => await renewLeases(f.db, { actor: null, itemIds: [f.itemIds[0]!] }),
      'unauthorized',
    );
    await expectAppError(
      async () => await renewLeases(f.db, { actor: f.reviewer, itemIds: [] }),
      'bad_input',
      /^itemIds: /,
    );
    await expectAppError(
      async () => await renewLeases(f.db, { actor: f.reviewer, itemIds: Array.from({ length: 61 }, (_, i) => i + 1) }),
      'bad_input',
      /at most 60/,
    );
  });
});

describe('releaseLeases', () => {
  it("gives back only the actor's own holds", async () => {
    const f = await makeFixture(tmp.dir, [{ predictedClass: 2 }, { predictedClass: 2 }, { predictedClass: 3 }]);
    const mine = (
      await claimBatch(f.db, {
        actor: f.reviewer,
        catalogueId: f.catalogueId,
        predictedClass: 2,
        size: 5,
        now: T0,
      })
    ).map((c) => c.itemId);
    const theirs = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 }))!.itemId;
    expect(await releaseLeases(f.db, { actor: f.reviewer, itemIds: [...mine, theirs] })).toEqual({
      released: [...mine].sort((a, b) => a - b),
    });
    expect((await f.db.select().from(leases)).map((l) => l.itemId)).toEqual([theirs]);
    await expectAppError(async () => await releaseLeases(f.db, { actor: f.ops, itemIds: [theirs] }), 'forbidden');
    expect(await f.db.select().from(leases)).toHaveLength(1);
  });
});

describe('describeHeldItem', () => {
  it('describes an item the actor holds, as a claim does; 409 for an item held by someone else or expired', async () => {
    const f = await makeFixture(tmp.dir, [{ predictedClass: 3, confidence: 0.4 }, { confidence: 0.5 }]);
    const claimed = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect(await describeHeldItem(f.db, { actor: f.reviewer, itemId: claimed.itemId, now: T0 + 1000 })).toEqual(
      claimed,
    );
    await expectAppError(
      async () => await describeHeldItem(f.db, { actor: f.reviewer2, itemId: claimed.itemId, now: T0 + 1000 }),
      'conflict',
    );
    await expectAppError(
      async () =>
        await describeHeldItem(f.db, { actor: f.reviewer, itemId: claimed.itemId, now: T0 + DEFAULT_LEASE_MS }),
      'conflict',
    );
    await expectAppError(
      async () => await describeHeldItem(f.db, { actor: f.reviewer, itemId: f.itemIds[1]!, now: T0 }),
      'conflict',
    );
  });
});
