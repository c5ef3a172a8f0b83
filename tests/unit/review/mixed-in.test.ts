import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, reviews, settings } from '@/db/schema';
import { goldAgreement } from '@/lib/review/gold';
import { countNewHumanLabels } from '@/lib/learning/schedule';
import { claimNext, type ClaimedItem } from '@/lib/review/queue';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { makeFixture, tempDir, type Fixture, type FixtureItem } from './fixtures';

const tmp = tempDir('loupe-mixed-in-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;
let decisionCounter = 0;

function expectBinomial(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThan(4 * sd);
}

/** Claims and decides (confirming the model's answer) `count` times; returns the claims in order. */
async function work(f: Fixture, count: number, actor = f.reviewer): Promise<ClaimedItem[]> {
  const claims: ClaimedItem[] = [];
  for (let i = 0; i < count; i++) {
    const claimed = await claimNext(f.db, { actor, catalogueId: f.catalogueId, now: T0 + i });
    if (!claimed) break;
    claims.push(claimed);
    await submitReview(f.db, {
      actor,
      itemId: claimed.itemId,
      action: 'confirm',
      clientId: `decision-${++decisionCounter}`,
      durationMs: 1000,
      modelVersionId: claimed.modelVersionId,
      now: T0 + i,
    });
  }
  return claims;
}

/** What a reviewer's client receives: the JSON of the claim minus the per-item values. */
function shape(claim: ClaimedItem): unknown {
  return Object.fromEntries(
    Object.entries(JSON.parse(JSON.stringify(claim)) as Record<string, unknown>).map(([key, value]) => [
      key,
      key === 'labelSource' ? value : Array.isArray(value) ? value.length : typeof value,
    ]),
  );
}

async function setRates(f: Fixture, rates: { goldRate?: number; auditRate?: number }): Promise<void> {
  await f.db.update(settings).set(rates).where(eq(settings.catalogueId, f.catalogueId));
}

describe('audit items in the queue', () => {
  it('are served among the uncertain items at their share of the queue, not left for last, and look like any other item', async () => {
    const list: FixtureItem[] = [
      ...Array.from({ length: 240 }, (_, i) => ({ confidence: 0.3 + (i % 50) / 100 })),
      ...Array.from({ length: 60 }, () => ({ confidence: 0.99 })),
    ];
    const f = await makeFixture(tmp.dir, list);
    const auditIds = f.itemIds.slice(240);
    await f.db
      .update(items)
      .set({ routingReason: 'confidence' })
      .where(inArray(items.id, f.itemIds.slice(0, 240)));
    await f.db.update(items).set({ routingReason: 'audit' }).where(inArray(items.id, auditIds));
    await setRates(f, { goldRate: 0 });
    const claims = await work(f, 100);
    const audits = claims.filter((c) => auditIds.includes(c.itemId));
    // The uncertainty order alone would serve none of them in the first 100 claims.
    expect(audits.length).toBeGreaterThan(8);
    expect(audits.length).toBeLessThan(35);
    const normal = claims.find((c) => !auditIds.includes(c.itemId))!;
    for (const audit of audits) {
      expect(shape(audit)).toEqual(shape(normal));
      expect(audit.labelSource).toBe('model');
      expect(audit.currentLabel).toBe(audit.predictedClass);
      expect(JSON.stringify(audit)).not.toMatch(/audit|gold|eval|routing/i);
    }
    // Their reviews are what the accuracy of auto-accepted items is measured on.
    const reviewed = await f.db
      .select({ id: reviews.itemId })
      .from(reviews)
      .innerJoin(items, eq(items.id, reviews.itemId))
      .where(eq(items.routingReason, 'audit'));
    expect(reviewed).toHaveLength(audits.length);
  });
});

describe('gold items in the queue', () => {
  async function goldFixture(): Promise<{ f: Fixture; goldIds: number[] }> {
    // 400 queue items and 80 gold items: known label (import), scored, reviewed, evalRole gold.
    const list: FixtureItem[] = [
      ...Array.from({ length: 400 }, () => ({ confidence: 0.5 })),
      ...Array.from({ length: 80 }, (_, i) => ({
        confidence: 0.8,
        predictedClass: i % 5,
        importLabel: (i + (i % 4 === 0 ? 1 : 0)) % 5,
        status: 'reviewed' as const,
      })),
    ];
    const f = await makeFixture(tmp.dir, list);
    const goldIds = f.itemIds.slice(400);
    await f.db.update(items).set({ evalRole: 'gold' }).where(inArray(items.id, goldIds));
    await setRates(f, { goldRate: 0.1, auditRate: 0 });
    return { f, goldIds };
  }

  it('appear in claims at the configured rate, each at most once per reviewer, and look like any other item', async () => {
    const { f, goldIds } = await goldFixture();
    const claims = await work(f, 300);
    const gold = claims.filter((c) => goldIds.includes(c.itemId));
    expectBinomial(gold.length, 300, 0.1);
    expect(new Set(gold.map((c) => c.itemId)).size).toBe(gold.length);
    const normal = claims.find((c) => !goldIds.includes(c.itemId))!;
    for (const claim of gold) {
      expect(shape(claim)).toEqual(shape(normal));
      // The model's answer as the label, as on a model-labelled item: never the known label.
      expect(claim).toMatchObject({
        labelSource: 'model',
        currentLabel: claim.predictedClass,
        modelVersionId: f.modelVersionId,
      });
      expect(claim.top).toHaveLength(3);
    }
    // Another reviewer is served gold items too, the same ones included.
    const other = (await work(f, 100, f.reviewer2)).filter((c) => goldIds.includes(c.itemId));
    expect(other.length).toBeGreaterThan(0);
    // With the rate at 0 none is served.
    await setRates(f, { goldRate: 0 });
    expect((await work(f, 40)).filter((c) => goldIds.includes(c.itemId))).toHaveLength(0);
  });

  it('a decision on a gold item is recorded but leaves the item, its label and the training labels alone; goldAgreement scores it', async () => {
    const { f, goldIds } = await goldFixture();
    await setRates(f, { goldRate: 0.5 });
    const before = await f.db.select().from(items).where(inArray(items.id, goldIds));
    let served = 0;
    let agreed = 0;
    for (let i = 0; i < 60; i++) {
      const claimed = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + i }))!;
      if (!goldIds.includes(claimed.itemId)) {
        await submitReview(f.db, {
          actor: f.reviewer,
          itemId: claimed.itemId,
          action: 'skip',
          clientId: `gold-run-${i}`,
          durationMs: 500,
          now: T0 + i,
        });
        continue;
      }
      served++;
      // Alternate: correct to class 2, or confirm the model.
      const correct = served % 2 === 0;
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: claimed.itemId,
        action: correct ? 'correct' : 'confirm',
        label: correct ? 2 : undefined,
        clientId: `gold-run-${i}`,
        durationMs: 500,
        now: T0 + i,
      });
      const known = before.find((item) => item.id === claimed.itemId)!.importLabel;
      if ((correct ? 2 : claimed.predictedClass) === known) agreed++;
    }
    expect(served).toBeGreaterThan(10);
    expect(await f.db.select().from(items).where(inArray(items.id, goldIds))).toEqual(before);
    expect((await countNewHumanLabels(f.db, f.catalogueId)).count).toBe(0);
    expect(await goldAgreement(f.db, f.catalogueId)).toEqual([
      { reviewerId: f.reviewer.userId, email: f.reviewer.email, decided: served, agreed, accuracy: agreed / served },
    ]);

    // Undoing a gold decision: the review is reverted, the item still untouched, and held again.
    let goldClaim: ClaimedItem | undefined;
    for (let i = 100; i < 200 && !goldClaim; i++) {
      const claimed = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + i }))!;
      if (goldIds.includes(claimed.itemId)) goldClaim = claimed;
      else
        await submitReview(f.db, {
          actor: f.reviewer,
          itemId: claimed.itemId,
          action: 'skip',
          clientId: `gold-skip-${i}`,
          durationMs: 500,
          now: T0 + i,
        });
    }
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: goldClaim!.itemId,
      action: 'confirm',
      clientId: 'gold-undo-target',
      durationMs: 500,
      now: T0 + 300,
    });
    expect((await goldAgreement(f.db, f.catalogueId))[0]!.decided).toBe(served + 1);
    const undo = await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-gold-1', now: T0 + 301 });
    expect(undo.undone.itemId).toBe(goldClaim!.itemId);
    expect(await f.db.select().from(items).where(inArray(items.id, goldIds))).toEqual(before);
    expect((await goldAgreement(f.db, f.catalogueId))[0]!.decided).toBe(served);
    expect(await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + 302 })).toMatchObject({
      itemId: goldClaim!.itemId,
      labelSource: 'model',
    });
  });
});
