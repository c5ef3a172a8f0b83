/**
 * The queue order and the mix-in's counts are copies kept by triggers (migration 0007): every
 * write that could change them must keep them equal to what counting the tables gives.
 */
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, modelVersions, predictions, settings } from '@/db/schema';
import { activateModelVersion } from '@/lib/models/promotion';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { claimBatch, claimNext } from '@/lib/review/queue';
import { releaseLeases } from '@/lib/review/leases';
import { CLASSES, makeFixture, tempDir, type Fixture } from './fixtures';
import { withTransaction, onlyRow } from '@/db/client';
import { queryAll } from '@/lib/dashboards/common';

const tmp = tempDir('loupe-queue-order-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

/** What the triggers must have kept, recomputed from the tables. */
async function expectCopiesMatchTables(f: Fixture) {
  const stale = await queryAll(
    f.db,
    `select i.id, i.queue_confidence as c, i.queue_margin as m, i.queue_class as k, p.confidence as pc, p.margin as pm, p.predicted_class as pk
     from items i
     left join model_versions mv on mv.catalogue_id = i.catalogue_id and mv.status = 'active'
     left join predictions p on p.item_id = i.id and p.model_version_id = mv.id
     where i.status = 'needs_review' and (i.queue_confidence is distinct from p.confidence
       or i.queue_margin is distinct from p.margin or i.queue_class is distinct from p.predicted_class)`,
  );
  expect(stale).toEqual([]);
  const counted = await queryAll(
    f.db,
    `select catalogue_id as "catalogueId", count(*) as waiting,
       sum(case when routing_reason = 'audit' then 1 else 0 end) as "waitingAudit"
     from items where status = 'needs_review' group by catalogue_id order by 1`,
  );
  const kept = await queryAll(
    f.db,
    'select catalogue_id as "catalogueId", waiting, waiting_audit as "waitingAudit" from queue_counts where waiting > 0 order by 1',
  );
  expect(kept).toEqual(counted);
  const reviewsCounted = await queryAll(
    f.db,
    `select r.reviewer_id as "reviewerId", i.catalogue_id as "catalogueId", count(*) as reviews
     from reviews r join items i on i.id = r.item_id group by 1, 2 order by 1, 2`,
  );
  const reviewsKept = await queryAll(
    f.db,
    'select reviewer_id as "reviewerId", catalogue_id as "catalogueId", reviews from reviewer_queue_counts where reviews > 0 order by 1, 2',
  );
  expect(reviewsKept).toEqual(reviewsCounted);
}

async function claimAll(f: Fixture, now: number): Promise<number[]> {
  const order: number[] = [];
  for (let claimed = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now }); claimed;) {
    order.push(claimed.itemId);
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: claimed.itemId,
      action: 'skip',
      clientId: `skip-${now}-${claimed.itemId}`,
      durationMs: 10,
      now,
    });
    claimed = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now });
  }
  return order;
}

describe('the queue order kept on items', () => {
  it('follows a promotion: the new model orders the waiting items, those it has not scored come after', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.3 }, { confidence: 0.5 }, { confidence: 0.7 }]);
    const m2 = await f.db
      .insert(modelVersions)
      .values({ catalogueId: f.catalogueId, name: 'm2', arch: 'test', weightsPath: '/nonexistent' })
      .returning()
      .then(onlyRow);
    // The candidate's predictions change nothing while it is not active.
    for (const [i, confidence] of [
      [0, 0.8],
      [1, 0.4],
    ] as const)
      await f.db.insert(predictions).values({
        itemId: f.itemIds[i]!,
        modelVersionId: m2.id,
        probs: CLASSES.map((_, k) => (k === 2 ? confidence : (1 - confidence) / 4)),
        predictedClass: 2,
        confidence,
        margin: confidence - (1 - confidence) / 4,
      });
    await expectCopiesMatchTables(f);
    await withTransaction(f.db, async (tx) => await activateModelVersion(tx, { modelVersionId: m2.id, now: T0 }));
    await expectCopiesMatchTables(f);
    expect(await claimAll(f, T0)).toEqual([1, 0, 2].map((i) => f.itemIds[i]));
    // Scored later by the active model: the item takes its place by confidence at once.
    await f.db.insert(predictions).values({
      itemId: f.itemIds[2]!,
      modelVersionId: m2.id,
      probs: CLASSES.map((_, k) => (k === 2 ? 0.2 : 0.2)),
      predictedClass: 2,
      confidence: 0.2,
      margin: 0,
    });
    await expectCopiesMatchTables(f);
    const other = await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 });
    expect(other?.itemId).toBe(f.itemIds[2]);
    // A grid of class 2 (m2's answer for all three), most confident first.
    await releaseLeases(f.db, { actor: f.reviewer2, itemIds: [f.itemIds[2]!] });
    const grid = await claimBatch(f.db, {
      actor: f.reviewer2,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 5,
      now: T0,
    });
    expect(grid.map((g) => g.itemId)).toEqual([0, 1, 2].map((i) => f.itemIds[i]));
    // A deleted prediction of the active model takes the item out of the scored order.
    await f.db.delete(predictions).where(eq(predictions.itemId, f.itemIds[0]!));
    await expectCopiesMatchTables(f);
  });

  it('an item back in the queue (an undone decision, re-routing) is ordered by the active prediction again', async () => {
    const f = await makeFixture(tmp.dir, [
      { confidence: 0.2 },
      { confidence: 0.6 },
      { confidence: 0.4, status: 'reviewed' },
    ]);
    const first = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
    expect(first.itemId).toBe(f.itemIds[0]);
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: first.itemId,
      action: 'confirm',
      clientId: 'order-confirm-0',
      durationMs: 5,
      now: T0,
    });
    await expectCopiesMatchTables(f);
    await undoLastReview(f.db, { actor: f.reviewer, clientId: 'order-undo-0', now: T0 + 1000 });
    await expectCopiesMatchTables(f);
    // Routing sends a reviewed item back (e.g. after a promotion): it joins by its confidence.
    await f.db.update(items).set({ status: 'needs_review', routingReason: 'audit' }).where(eq(items.id, f.itemIds[2]!));
    await expectCopiesMatchTables(f);
    await f.db.update(items).set({ status: 'auto_accepted', routingReason: null }).where(eq(items.id, f.itemIds[1]!));
    await expectCopiesMatchTables(f);
    // The undo handed item 0 back to its reviewer, still held: another reviewer gets item 2 (0.4).
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 2000 }))?.itemId).toBe(
      f.itemIds[2],
    );
  });

  it('the counts stay exact through imports, decisions, gold, deletes and a second catalogue', async () => {
    const f = await makeFixture(tmp.dir, [
      { confidence: 0.3 },
      { confidence: 0.95 },
      { confidence: 0.4 },
      { confidence: 0.5, status: 'auto_accepted' },
      { confidence: 0.45 },
    ]);
    await f.db.update(items).set({ routingReason: 'audit' }).where(eq(items.id, f.itemIds[1]!));
    await f.db
      .insert(settings)
      .values({ catalogueId: f.catalogueId, goldRate: 0 })
      .onConflictDoUpdate({ target: settings.catalogueId, set: { goldRate: 0 } });
    await expectCopiesMatchTables(f);
    await f.db.delete(items).where(eq(items.id, f.itemIds[4]!));
    await expectCopiesMatchTables(f);
    const g = await makeFixture(tmp.dir, [{ confidence: 0.1 }]);
    await expectCopiesMatchTables(g);
    for (let k = 0; k < 3; k++) {
      const claimed = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 });
      if (!claimed) break;
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: claimed.itemId,
        action: k === 1 ? 'unsure' : 'confirm',
        clientId: `count-decision-${k}`,
        durationMs: 5,
        now: T0,
      });
      await expectCopiesMatchTables(f);
    }
  });
});
