import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, leases, settings, settingsChanges } from '@/db/schema';
import { auditDraw, getRoutingRules, routeItem, type RoutingRules } from '@/lib/routing/rules';
import { getRoutingSettings, setRoutingRules, setThreshold } from '@/lib/routing/settings';
import { listRoutingChanges } from '@/lib/routing/settings-history';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-routing-rules-');
afterAll(tmp.cleanup);

const NOW = Date.parse('2025-06-01T12:00:00Z');
const RULES: RoutingRules = { threshold: 0.9, perClassThresholds: {}, auditRate: 0, auditSeed: 1 };

async function row(f: Fixture, index: number) {
  return (await f.db
    .select({
      status: items.status,
      reason: items.routingReason,
      label: items.currentLabel,
      labelSource: items.labelSource,
    })
    .from(items)
    .where(eq(items.id, f.itemIds[index]!))
    .limit(1)
    .then(firstRow))!;
}

/** Binomial(n, p) count within 4 standard deviations of its mean (a false alarm about once in 16,000 runs; the draws are fixed anyway). */
function expectBinomial(count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThan(4 * sd);
}

describe('routeItem', () => {
  it('a per-class override routes that class differently from the global threshold', () => {
    const rules = { ...RULES, perClassThresholds: { '6': 0.97 } };
    expect(routeItem({ itemId: 1, predictedClass: 6, confidence: 0.95 }, rules)).toEqual({
      status: 'needs_review',
      reason: 'confidence',
    });
    expect(routeItem({ itemId: 1, predictedClass: 5, confidence: 0.95 }, rules)).toEqual({
      status: 'auto_accepted',
      reason: null,
    });
    expect(routeItem({ itemId: 1, predictedClass: 6, confidence: 0.97 }, rules).status).toBe('auto_accepted');
    // An override may also be laxer than the global threshold.
    expect(
      routeItem({ itemId: 1, predictedClass: 1, confidence: 0.8 }, { ...RULES, perClassThresholds: { '1': 0.75 } })
        .status,
    ).toBe('auto_accepted');
  });

  it('sends the configured share of would-be-auto-accepted items to review as audits, deterministically', () => {
    for (const seed of [1, 2, 3]) {
      const rules = { ...RULES, auditRate: 0.02, auditSeed: seed };
      const audited = [];
      for (let id = 1; id <= 10_000; id++) {
        const decision = routeItem({ itemId: id, predictedClass: id % 10, confidence: 0.99 }, rules);
        if (decision.reason === 'audit') audited.push(id);
        expect(decision.status).toBe(decision.reason === 'audit' ? 'needs_review' : 'auto_accepted');
      }
      expectBinomial(audited.length, 10_000, 0.02);
      // The same item under the same settings: the same answer.
      for (const id of audited.slice(0, 20))
        expect(routeItem({ itemId: id, predictedClass: 0, confidence: 0.95 }, rules).reason).toBe('audit');
      // Spread over the whole id range, not clustered.
      expectBinomial(audited.filter((id) => id <= 5000).length, audited.length, 0.5);
    }
    // A higher rate keeps every earlier audit and adds more; other seeds draw other items.
    const at2 = new Set(Array.from({ length: 10_000 }, (_, i) => i + 1).filter((id) => auditDraw(id, 7) < 0.02));
    const at5 = Array.from({ length: 10_000 }, (_, i) => i + 1).filter((id) => auditDraw(id, 7) < 0.05);
    expectBinomial(at5.length, 10_000, 0.05);
    expect([...at2].every((id) => at5.includes(id))).toBe(true);
    const other = Array.from({ length: 10_000 }, (_, i) => i + 1).filter((id) => auditDraw(id, 8) < 0.02);
    expect(other.filter((id) => at2.has(id)).length).toBeLessThan(20);
  });

  it('items under their threshold go to review for their confidence, never as audits', () => {
    const rules = { ...RULES, auditRate: 0.5 };
    for (let id = 1; id <= 500; id++)
      expect(routeItem({ itemId: id, predictedClass: 0, confidence: 0.5 }, rules)).toEqual({
        status: 'needs_review',
        reason: 'confidence',
      });
    expect(routeItem({ itemId: 1, predictedClass: 0, confidence: 0.99 }, { ...rules, auditRate: 0 }).status).toBe(
      'auto_accepted',
    );
  });
});

describe('setRoutingRules', () => {
  it('a stricter override for one class sends its items to review; the change is recorded (who, old, new)', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 2, confidence: 0.95, status: 'auto_accepted' },
      { predictedClass: 2, confidence: 0.99, status: 'auto_accepted' },
      { predictedClass: 3, confidence: 0.95, status: 'auto_accepted' },
      { predictedClass: 3, confidence: 0.85, status: 'needs_review' },
    ]);
    await f.db.update(settings).set({ auditRate: 0 }).where(eq(settings.catalogueId, f.catalogueId));
    const result = await setRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      perClassThresholds: { '2': 0.97, '3': 0.8 },
      now: NOW,
    });
    expect(result).toMatchObject({ changed: ['perClassThresholds'], entered: 1, left: 1, held: 0 });
    expect(await Promise.all([0, 1, 2, 3].map(async (i) => (await row(f, i)).status))).toEqual([
      'needs_review',
      'auto_accepted',
      'auto_accepted',
      'auto_accepted',
    ]);
    expect((await row(f, 0)).reason).toBe('confidence');
    expect((await getRoutingRules(f.db, f.catalogueId)).perClassThresholds).toEqual({ '2': 0.97, '3': 0.8 });
    // Removing the override of class 3 puts its 0.85 item back under the global 0.9.
    await setRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      perClassThresholds: { '2': 0.97 },
      auditRate: 0.05,
      goldRate: 0.1,
      now: NOW + 1000,
    });
    expect((await row(f, 3)).status).toBe('needs_review');
    const history = await listRoutingChanges(f.db, { catalogueId: f.catalogueId });
    expect(history.map((h) => [h.field, h.oldValue, h.newValue, h.userEmail])).toEqual([
      ['goldRate', 0.05, 0.1, f.admin.email],
      ['auditRate', 0, 0.05, f.admin.email],
      ['perClassThresholds', { '2': 0.97, '3': 0.8 }, { '2': 0.97 }, f.admin.email],
      ['perClassThresholds', {}, { '2': 0.97, '3': 0.8 }, f.admin.email],
    ]);
    expect(history[0]!.createdAt.getTime()).toBe(NOW + 1000);
    expect(await getRoutingSettings(f.db, f.catalogueId)).toMatchObject({
      auditRate: 0.05,
      goldRate: 0.1,
      threshold: 0.9,
    });
    // The same values again change and record nothing, whatever the key order.
    expect(
      (
        await setRoutingRules(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          perClassThresholds: { '2': 0.97 },
          auditRate: 0.05,
        })
      ).changed,
    ).toEqual([]);
    expect(await f.db.select().from(settingsChanges)).toHaveLength(4);
  });

  it('raising the audit rate sends that share of auto-accepted items to review, marked as audits; lowering it brings them back', async () => {
    const f = await makeFixture(
      tmp.dir,
      Array.from({ length: 2000 }, () => ({ confidence: 0.99, status: 'auto_accepted' as const })),
    );
    await f.db.update(settings).set({ auditRate: 0 }).where(eq(settings.catalogueId, f.catalogueId));
    const up = await setRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, auditRate: 0.1, now: NOW });
    expectBinomial(up.entered, 2000, 0.1);
    expect(up.auditWaiting).toBe(up.entered);
    const audited = (
      await f.db.select({ id: items.id }).from(items).where(eq(items.routingReason, 'audit')).orderBy(items.id)
    ).map((r) => r.id);
    expect(audited).toHaveLength(up.entered);
    expect(
      (await f.db.select({ id: items.id }).from(items).where(eq(items.status, 'needs_review')).orderBy(items.id)).map(
        (r) => r.id,
      ),
    ).toEqual(audited);
    // Re-routing under the same rules (a threshold change and back) picks the very same items.
    await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.5, now: NOW });
    await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.9, now: NOW });
    expect(
      (await f.db.select({ id: items.id }).from(items).where(eq(items.routingReason, 'audit')).orderBy(items.id)).map(
        (r) => r.id,
      ),
    ).toEqual(audited);
    const down = await setRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, auditRate: 0, now: NOW });
    expect(down).toMatchObject({ entered: 0, left: up.entered, auditWaiting: 0 });
  });

  it('re-routing leaves held, human-labelled, import-labelled and evaluation items alone', async () => {
    const f = await makeFixture(tmp.dir, [
      ...Array.from({ length: 40 }, () => ({ confidence: 0.99, status: 'auto_accepted' as const })),
      { confidence: 0.95, status: 'needs_review' as const }, // 40: held
      { confidence: 0.95, status: 'needs_review' as const }, // 41: human label
      { confidence: 0.95, status: 'needs_review' as const, importLabel: 1 }, // 42: import label
      { confidence: 0.95, status: 'needs_review' as const }, // 43: gold
    ]);
    await f.db
      .insert(leases)
      .values({ itemId: f.itemIds[40]!, reviewerId: f.reviewer.userId, expiresAt: new Date(NOW + 60_000) });
    await f.db.update(items).set({ labelSource: 'human' }).where(eq(items.id, f.itemIds[41]!));
    await f.db.update(items).set({ evalRole: 'gold' }).where(eq(items.id, f.itemIds[43]!));
    const before = await Promise.all([40, 41, 42, 43].map(async (i) => await row(f, i)));
    const result = await setRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.5,
      auditRate: 0.5,
      now: NOW,
    });
    expect(await Promise.all([40, 41, 42, 43].map(async (i) => await row(f, i)))).toEqual(before);
    expect(result.held).toBe(1);
    expectBinomial(result.entered, 40, 0.5);
    const moved = await f.db
      .select({ reason: items.routingReason })
      .from(items)
      .where(inArray(items.id, f.itemIds.slice(0, 40)));
    expect(moved.filter((r) => r.reason === 'audit')).toHaveLength(result.entered);
  });

  it('refuses every role but admin, bad values with a sentence, and classes the catalogue lacks; nothing changes', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.99, status: 'auto_accepted' }]);
    const set =
      (rules: Record<string, unknown>, actor = f.admin) =>
      async () =>
        await setRoutingRules(f.db, { actor, catalogueId: f.catalogueId, ...(rules as object), now: NOW });
    for (const actor of [f.reviewer, f.ops]) await expectAppError(set({ auditRate: 0.1 }, actor), 'forbidden');
    await expectAppError(
      async () => await setRoutingRules(f.db, { actor: null, catalogueId: f.catalogueId, auditRate: 0.1 }),
      'unauthorized',
    );
    await expectAppError(
      set({ perClassThresholds: { '2': 1 } }),
      'bad_input',
      /perClassThresholds\.2: must be a calibrated confidence strictly between 0 and 1/,
    );
    await expectAppError(set({ perClassThresholds: { '2': 0 } }), 'bad_input', /strictly between 0 and 1/);
    await expectAppError(
      set({ perClassThresholds: { '5': 0.95 } }),
      'bad_input',
      /class 5 is not one of this catalogue's classes \(0-4\)/,
    );
    await expectAppError(
      set({ perClassThresholds: { shirt: 0.95 } }),
      'bad_input',
      /"shirt" is not a class index; name a class by its index/,
    );
    await expectAppError(set({ auditRate: 0.6 }), 'bad_input', /auditRate: must be a share between 0 and 0.5/);
    await expectAppError(set({ auditRate: -0.01 }), 'bad_input', /between 0 and 0.5/);
    await expectAppError(set({ goldRate: Number.NaN }), 'bad_input', /goldRate: must be a share between 0 and 0.5/);
    await expectAppError(
      set({ threshold: 1.5 }),
      'bad_input',
      /threshold: must be a calibrated confidence strictly between 0 and 1/,
    );
    await expectAppError(
      async () => await setRoutingRules(f.db, { actor: f.admin, catalogueId: 9999, auditRate: 0.1 }),
      'not_found',
    );
    expect(await f.db.select().from(settingsChanges)).toHaveLength(0);
    expect(await getRoutingSettings(f.db, f.catalogueId)).toMatchObject({
      threshold: 0.9,
      perClassThresholds: {},
      auditRate: 0.02,
      goldRate: 0.05,
    });
  });
});
