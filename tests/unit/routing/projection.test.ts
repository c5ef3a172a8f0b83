import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, predictions, reviews, settings, settingsChanges } from '@/db/schema';
import { ASSUMED_REVIEWER_ACCURACY, ASSUMED_SECONDS_PER_DECISION, projectThresholds } from '@/lib/routing/projection';
import {
  holdoutFigures,
  lowestThresholdMeeting,
  THRESHOLD_GRID,
  withThreshold,
  type HoldoutPrediction,
} from '@/lib/routing/projection-figures';
import type { RoutingRules } from '@/lib/routing/rules';
import { getRoutingSettings } from '@/lib/routing/settings';
import { wilsonInterval } from '@/lib/stats/wilson';
import { applyTargetThreshold, latestTargetAccuracy, pickThresholdForTarget } from '@/lib/routing/target-threshold';
import { expectAppError, makeFixture, tempDir, type Fixture, type FixtureItem } from '../review/fixtures';

const tmp = tempDir('loupe-projection-');
afterAll(tmp.cleanup);

/** Held-out predictions whose auto-accepted accuracy goes up and down with the threshold. */
const HOLDOUT: (HoldoutPrediction & { confidence: number })[] = [
  { confidence: 0.95, predictedClass: 0, label: 0 },
  { confidence: 0.92, predictedClass: 1, label: 2 },
  { confidence: 0.85, predictedClass: 1, label: 1 },
  { confidence: 0.7, predictedClass: 2, label: 2 },
  { confidence: 0.55, predictedClass: 3, label: 0 },
];
const RULES: RoutingRules = { threshold: 0.9, perClassThresholds: {}, auditRate: 0, auditSeed: 1 };

describe('wilsonInterval', () => {
  it('matches published 95% intervals', () => {
    const cases: [number, number, number, number][] = [
      [8, 10, 0.4902, 0.9433],
      [0, 10, 0, 0.2775],
      [10, 10, 0.7225, 1],
      [95, 100, 0.8882, 0.9785],
    ];
    for (const [x, n, low, high] of cases) {
      const interval = wilsonInterval(x, n)!;
      expect(interval.low).toBeCloseTo(low, 4);
      expect(interval.high).toBeCloseTo(high, 4);
      expect(interval.estimate).toBe(x / n);
    }
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe('holdout figures', () => {
  it('computes review share, auto-accepted and catalogue accuracy exactly', () => {
    expect(holdoutFigures(HOLDOUT, RULES, 0.98)).toEqual({
      items: 5,
      aboveThreshold: 2,
      correctAboveThreshold: 1,
      reviewShare: 0.6,
      autoAccuracy: 0.5,
      catalogueAccuracy: 0.4 * 0.5 + 0.6 * 0.98,
    });
    const at08 = holdoutFigures(HOLDOUT, withThreshold(RULES, 0.8), 0.98);
    expect(at08).toMatchObject({ aboveThreshold: 3, correctAboveThreshold: 2, autoAccuracy: 2 / 3 });
    expect(at08.reviewShare).toBeCloseTo(0.4, 12);
    expect(at08.catalogueAccuracy).toBeCloseTo(0.6 * (2 / 3) + 0.4 * 0.98, 12);
    // A stricter threshold for class 1 sends both class-1 predictions to review at 0.8.
    expect(
      holdoutFigures(HOLDOUT, { ...RULES, threshold: 0.8, perClassThresholds: { '1': 0.95 } }, 0.98),
    ).toMatchObject({ aboveThreshold: 1, correctAboveThreshold: 1, autoAccuracy: 1 });
    // The audit sample reviews 2% of what would be auto-accepted.
    const audited = holdoutFigures(HOLDOUT, { ...RULES, auditRate: 0.02 }, 0.98);
    expect(audited.reviewShare).toBeCloseTo(1 - 0.4 * 0.98, 12);
    expect(audited.catalogueAccuracy).toBeCloseTo(0.4 * 0.98 * 0.5 + (1 - 0.4 * 0.98) * 0.98, 12);
    // Nothing auto-accepted: everything is reviewed.
    expect(holdoutFigures(HOLDOUT, withThreshold(RULES, 0.99), 0.97)).toMatchObject({
      aboveThreshold: 0,
      reviewShare: 1,
      autoAccuracy: null,
      catalogueAccuracy: 0.97,
    });
  });

  it('target mode: the lowest grid threshold meeting the target, though accuracy is not monotone', () => {
    const points = THRESHOLD_GRID.map((threshold) => ({
      threshold,
      holdout: holdoutFigures(HOLDOUT, withThreshold(RULES, threshold), 1),
    }));
    const accuracy = (t: number) => points.find((p) => p.threshold === t)!.holdout.autoAccuracy;
    // 0.6 at 0.50-0.55, 0.75 at 0.56-0.70, 2/3 at 0.71-0.85, 0.5 at 0.86-0.92, 1 at 0.93-0.95.
    expect([0.5, 0.56, 0.71, 0.86, 0.93, 0.96].map(accuracy)).toEqual([0.6, 0.75, 2 / 3, 0.5, 1, null]);
    for (const [target, expected] of [
      [0.7, 0.56],
      [0.6, 0.5],
      [0.8, 0.93],
      [1, 0.93],
    ] as const) {
      const picked = lowestThresholdMeeting(points, target)!;
      expect(picked.threshold).toBe(expected);
      expect(picked.holdout.autoAccuracy).toBeGreaterThanOrEqual(target);
      for (const lower of points.filter((p) => p.threshold < picked.threshold))
        expect(lower.holdout.autoAccuracy ?? 0).toBeLessThan(target);
    }
    // 0.71 misses 0.7 again: the pick is the lowest, not a point past which all thresholds meet it.
    expect(accuracy(0.71)!).toBeLessThan(0.7);
    expect(
      lowestThresholdMeeting(
        points.filter((p) => p.threshold < 0.93),
        0.8,
      ),
    ).toBeNull();
  });
});

const T0 = Date.parse('2025-06-01T12:00:00Z');
let clientIds = 0;

/** The hand-made holdout above, three routable catalogue items, gold and audit items with reviews. */
async function projectionFixture(): Promise<Fixture & { holdoutIds: number[] }> {
  const list: FixtureItem[] = [
    { confidence: 0.95, predictedClass: 0, status: 'auto_accepted' },
    { confidence: 0.85, predictedClass: 1, status: 'needs_review' },
    { confidence: 0.5, predictedClass: 2, status: 'needs_review' },
    ...HOLDOUT.map((h) => ({ confidence: h.confidence, predictedClass: h.predictedClass, importLabel: h.label })),
  ];
  const f = await makeFixture(tmp.dir, list);
  const holdoutIds = f.itemIds.slice(3);
  await f.db.update(items).set({ evalRole: 'holdout', status: 'reviewed' }).where(inArray(items.id, holdoutIds));
  await f.db
    .update(settings)
    .set({ threshold: 0.9, auditRate: 0, perClassThresholds: {} })
    .where(eq(settings.catalogueId, f.catalogueId));
  return { ...f, holdoutIds };
}

async function addReview(
  f: Fixture,
  itemId: number,
  input: { modelLabel: number; chosenLabel: number; durationMs: number },
) {
  await f.db.insert(reviews).values({
    itemId,
    reviewerId: f.reviewer.userId,
    modelVersionId: f.modelVersionId,
    modelLabel: input.modelLabel,
    chosenLabel: input.chosenLabel,
    action: input.modelLabel === input.chosenLabel ? 'confirm' : 'correct',
    durationMs: input.durationMs,
    clientId: `c${++clientIds}`,
  });
}

describe('projectThresholds', () => {
  it('projects from the stored holdout predictions and the catalogue, with assumed figures labelled', async () => {
    const f = await projectionFixture();
    const p = await projectThresholds(f.db, { catalogueId: f.catalogueId });
    expect(p.unavailable).toBeNull();
    expect(p.holdout).toEqual({ items: 5, missing: 0 });
    expect(p.reviewerAccuracy).toEqual({ value: ASSUMED_REVIEWER_ACCURACY, source: 'assumed', decisions: 0 });
    expect(p.secondsPerDecision).toEqual({ value: ASSUMED_SECONDS_PER_DECISION, source: 'assumed', decisions: 0 });
    expect(p.points.map((point) => point.threshold)).toEqual(THRESHOLD_GRID);
    expect(p.current!.threshold).toBe(0.9);
    expect(p.current!.holdout).toEqual(holdoutFigures(HOLDOUT, RULES, 0.98));
    expect(p.current!.catalogue).toEqual({
      routable: 3,
      toReview: 2,
      entered: 0,
      left: 0,
      reviewerHours: (2 * 4) / 3600,
      extraReviewerHours: 0,
    });
    const at = (t: number) => p.points.find((point) => point.threshold === t)!.catalogue;
    expect(at(0.8)).toMatchObject({ toReview: 1, entered: 0, left: 1 });
    expect(at(0.96)).toMatchObject({ toReview: 3, entered: 1, left: 0, extraReviewerHours: 4 / 3600 });
    expect(p.observed).toBeNull();
    expect(p.comparison).toMatch(/no audit sample yet/i);
    expect(p.sources.catalogueAccuracy).toMatch(/assumed/);
  });

  it('uses gold decisions, review times and a current threshold off the grid; compares the audit sample with the projection', async () => {
    const f = await projectionFixture();
    await f.db.update(settings).set({ threshold: 0.905 }).where(eq(settings.catalogueId, f.catalogueId));
    // Two gold items: one decided right, one wrong.
    const [g1, g2] = [f.itemIds[0]!, f.itemIds[1]!];
    await f.db
      .update(items)
      .set({ evalRole: 'gold', importLabel: 0 })
      .where(inArray(items.id, [g1, g2]));
    await addReview(f, g1, { modelLabel: 0, chosenLabel: 0, durationMs: 2000 });
    await addReview(f, g2, { modelLabel: 1, chosenLabel: 1, durationMs: 9000 });
    // One audited item of the active model, decided right: 1 of 1 (20.7%-100%) holds the 50% projection.
    const extra = f.itemIds[2]!;
    await f.db
      .update(items)
      .set({ routingReason: 'audit', status: 'reviewed', labelSource: 'human' })
      .where(eq(items.id, extra));
    await addReview(f, extra, { modelLabel: 2, chosenLabel: 2, durationMs: 5000 });
    const p = await projectThresholds(f.db, { catalogueId: f.catalogueId });
    expect(p.reviewerAccuracy).toEqual({ value: 0.5, source: 'gold', decisions: 2 });
    expect(p.secondsPerDecision).toEqual({ value: 5, source: 'reviews', decisions: 3 });
    expect(p.points).toHaveLength(THRESHOLD_GRID.length + 1);
    expect(p.current!.threshold).toBe(0.905);
    expect(p.current!.holdout.catalogueAccuracy).toBeCloseTo(0.4 * 0.5 + 0.6 * 0.5, 12);
    expect(p.observed!.interval).toMatchObject({ successes: 1, trials: 1 });
    expect(p.observed!.outside).toBe(false);
    expect(p.comparison).toMatch(/inside/);
    expect(
      (await projectThresholds(f.db, { catalogueId: f.catalogueId, reviewerAccuracy: 0.9 })).reviewerAccuracy,
    ).toEqual({
      value: 0.9,
      source: 'given',
      decisions: 0,
    });
  });

  it('says when the audit observation falls outside the projection', async () => {
    const f = await makeFixture(tmp.dir, [
      ...HOLDOUT.map((h) => ({ confidence: h.confidence, predictedClass: h.predictedClass, importLabel: h.label })),
      ...Array.from({ length: 10 }, () => ({ confidence: 0.97, predictedClass: 0, status: 'reviewed' as const })),
    ]);
    await f.db
      .update(items)
      .set({ evalRole: 'holdout', status: 'reviewed' })
      .where(inArray(items.id, f.itemIds.slice(0, 5)));
    await f.db.update(settings).set({ threshold: 0.9, auditRate: 0.02 }).where(eq(settings.catalogueId, f.catalogueId));
    for (const id of f.itemIds.slice(5)) {
      await f.db.update(items).set({ routingReason: 'audit', labelSource: 'human' }).where(eq(items.id, id));
      await addReview(f, id, { modelLabel: 0, chosenLabel: 0, durationMs: 3000 });
    }
    const p = await projectThresholds(f.db, { catalogueId: f.catalogueId });
    expect(p.observed!.interval.low).toBeCloseTo(0.7225, 4);
    expect(p.observed!.projected).toBe(0.5);
    expect(p.observed!.outside).toBe(true);
    expect(p.comparison).toMatch(/falls outside/);
  });

  it('explains why there is nothing to project without holdout predictions', async () => {
    const f = await makeFixture(tmp.dir, [{ unscored: true, importLabel: 1 }]);
    await f.db.update(items).set({ evalRole: 'holdout', status: 'reviewed' }).where(eq(items.id, f.itemIds[0]!));
    const p = await projectThresholds(f.db, { catalogueId: f.catalogueId });
    expect(p.holdout).toEqual({ items: 0, missing: 1 });
    expect(p.unavailable).toMatch(/evaluate job/);
    expect(await pickThresholdForTarget(f.db, { catalogueId: f.catalogueId, targetAccuracy: 0.9 })).toMatchObject({
      threshold: null,
    });
  });
});

describe('target mode', () => {
  it('picks the lowest grid threshold meeting the target on the holdout, and says when none does', async () => {
    const f = await projectionFixture();
    const pick = await pickThresholdForTarget(f.db, { catalogueId: f.catalogueId, targetAccuracy: 0.7 });
    expect(pick).toMatchObject({ threshold: 0.56, holdoutItems: 5, holdout: { autoAccuracy: 0.75 } });
    expect(pick.sentence).toMatch(/^0\.56 is the lowest threshold reaching 70\.00%/);
    expect((await pickThresholdForTarget(f.db, { catalogueId: f.catalogueId, targetAccuracy: 0.8 })).threshold).toBe(
      0.93,
    );
    // With the most confident held-out item wrong, nothing reaches 90%.
    await f.db.update(items).set({ importLabel: 4 }).where(eq(items.id, f.holdoutIds[0]!));
    const none = await pickThresholdForTarget(f.db, { catalogueId: f.catalogueId, targetAccuracy: 0.9 });
    expect(none.threshold).toBeNull();
    expect(none.sentence).toMatch(
      /No threshold from 0.5 to 0.99 reaches 90.00% on the 5 held-out items \(the best is 50.00%\)/,
    );
    await expectAppError(
      async () => await pickThresholdForTarget(f.db, { catalogueId: f.catalogueId, targetAccuracy: 1.5 }),
      'bad_input',
    );
  });

  it('applies the pick through the threshold setting with the target recorded, for admins only', async () => {
    const f = await projectionFixture();
    for (const actor of [f.reviewer, f.ops])
      await expectAppError(
        async () => await applyTargetThreshold(f.db, { actor, catalogueId: f.catalogueId, targetAccuracy: 0.7 }),
        'forbidden',
      );
    await expectAppError(
      async () => await applyTargetThreshold(f.db, { actor: null, catalogueId: f.catalogueId, targetAccuracy: 0.7 }),
      'unauthorized',
    );
    expect(await f.db.select().from(settingsChanges)).toEqual([]);
    expect(await latestTargetAccuracy(f.db, f.catalogueId)).toBeNull();

    const result = await applyTargetThreshold(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      targetAccuracy: 0.7,
      now: T0,
    });
    expect(result).toMatchObject({
      threshold: 0.56,
      change: { oldThreshold: 0.9, threshold: 0.56, entered: 0, left: 1 },
    });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.56);
    const changes = await f.db.select().from(settingsChanges).orderBy(settingsChanges.id);
    expect(changes.map((c) => [c.field, c.oldValue, c.newValue, c.userId])).toEqual([
      ['threshold', '0.9', '0.56', f.admin.userId],
      ['target_accuracy', null, '0.7', f.admin.userId],
    ]);
    expect(await latestTargetAccuracy(f.db, f.catalogueId)).toEqual({
      targetAccuracy: 0.7,
      createdAt: new Date(T0),
      userEmail: f.admin.email,
    });

    // Unreachable: refused, and nothing is written.
    await f.db.update(items).set({ importLabel: 4 }).where(eq(items.id, f.holdoutIds[0]!));
    await expectAppError(
      async () =>
        await applyTargetThreshold(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          targetAccuracy: 0.9,
          now: T0 + 1,
        }),
      'conflict',
      /No threshold/,
    );
    expect(await f.db.select().from(settingsChanges)).toHaveLength(2);
    expect(await f.db.select().from(predictions)).toHaveLength(8);
  });
});
