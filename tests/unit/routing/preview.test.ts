import { afterAll, describe, expect, it } from 'vitest';
import { items, leases, settings, settingsChanges } from '@/db/schema';
import {
  LARGE_MOVE_ITEMS,
  needsMoveConfirmation,
  previewRoutingRules,
  previewTargetThreshold,
} from '@/lib/routing/preview';
import { getRoutingSettings, setRoutingRules, setThreshold } from '@/lib/routing/settings';
import {
  expectAppError,
  makeFixture,
  makeTargetFixture,
  tempDir,
  type Fixture,
  type FixtureItem,
} from '../review/fixtures';

const tmp = tempDir('loupe-preview-');
afterAll(tmp.cleanup);

const NOW = Date.parse('2025-06-01T12:00:00Z');

/** 160 model-labelled items: 40 waiting at 0.5 and 0.85, 120 auto-accepted from 0.91 to 0.99. No audit sample. */
async function spread(): Promise<Fixture> {
  const list: FixtureItem[] = [];
  for (let i = 0; i < 20; i++) list.push({ confidence: 0.5, status: 'needs_review' });
  for (let i = 0; i < 20; i++) list.push({ confidence: 0.85, status: 'needs_review' });
  const high = [0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99];
  for (let i = 0; i < 120; i++) list.push({ confidence: high[i % 9]!, status: 'auto_accepted' });
  const f = await makeFixture(tmp.dir, list);
  await f.db
    .insert(settings)
    .values({ catalogueId: f.catalogueId, threshold: 0.9, auditRate: 0 })
    .onConflictDoUpdate({ target: settings.catalogueId, set: { threshold: 0.9, auditRate: 0 } });
  return f;
}

async function statusCounts(f: Fixture): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const row of await f.db.select({ status: items.status }).from(items))
    counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}

describe('needsMoveConfirmation', () => {
  it('asks from LARGE_MOVE_ITEMS moved items, counting both directions', () => {
    expect(LARGE_MOVE_ITEMS).toBe(100);
    expect(needsMoveConfirmation({ entered: 99, left: 0 })).toBe(false);
    expect(needsMoveConfirmation({ entered: 60, left: 40 })).toBe(true);
    expect(needsMoveConfirmation({ entered: 0, left: 100 })).toBe(true);
  });
});

describe('previewRoutingRules', () => {
  it('counts what the save then does, and writes nothing', async () => {
    const f = await spread();
    const before = await statusCounts(f);
    const preview = await previewRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.97,
      now: NOW,
    });
    // 0.91 to 0.96 (6 of every 9: 81 of the 120 auto-accepted items) fall under 0.97.
    expect(preview).toEqual({
      catalogueId: f.catalogueId,
      changed: ['threshold'],
      entered: 81,
      left: 0,
      held: 0,
      moved: 81,
      large: false,
    });
    expect(await statusCounts(f)).toEqual(before);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await f.db.select().from(settingsChanges)).toEqual([]);

    const lowered = await previewRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.5,
      now: NOW,
    });
    expect(lowered).toMatchObject({ entered: 0, left: 40, moved: 40, large: false });
    // 107 of the 120 auto-accepted items are under 0.99: a save to confirm first.
    expect(
      await previewRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.99, now: NOW }),
    ).toMatchObject({ entered: 107, left: 0, moved: 107, large: true });
    // Class 0 (every fifth item) at 0.5 sends its 8 waiting items out while the rest go in.
    const both = await previewRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.99,
      perClassThresholds: { '0': 0.5 },
      now: NOW,
    });
    const saved = await setRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.99,
      perClassThresholds: { '0': 0.5 },
      now: NOW,
    });
    expect(both).toMatchObject({ entered: 85, left: 8, moved: 93, large: false });
    expect({ entered: both.entered, left: both.left, held: both.held }).toEqual({
      entered: saved.entered,
      left: saved.left,
      held: saved.held,
    });
  });

  it('counts items reviewers hold apart, as the save leaves them', async () => {
    const f = await spread();
    const heldId = f.itemIds[150]!; // auto-accepted at 0.93 (the 111th high item), would enter the queue
    await f.db
      .insert(leases)
      .values({ itemId: heldId, reviewerId: f.reviewer.userId, expiresAt: new Date(NOW + 60_000) });
    const preview = await previewRoutingRules(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.97,
      now: NOW,
    });
    expect(preview).toMatchObject({ entered: 80, held: 1 });
    const saved = await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.97, now: NOW });
    expect(saved).toMatchObject({ entered: 80, held: 1 });
  });

  it('moves nothing for a gold rate alone or for the values already saved', async () => {
    const f = await spread();
    expect(
      await previewRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, goldRate: 0.2 }),
    ).toMatchObject({
      changed: ['goldRate'],
      moved: 0,
      large: false,
    });
    expect(
      await previewRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.9 }),
    ).toMatchObject({
      changed: [],
      moved: 0,
    });
  });

  it('refuses what the save refuses: a stale form, a class the catalogue lacks, a bad value, the wrong role', async () => {
    const f = await spread();
    await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.8, now: NOW });
    await expectAppError(
      async () =>
        await previewRoutingRules(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          threshold: 0.97,
          expected: { threshold: 0.9 },
        }),
      'conflict',
      /The threshold was changed to 0.8 by ada-\d+@example.test/,
    );
    await expectAppError(
      async () =>
        await previewRoutingRules(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          perClassThresholds: { '9': 0.9 },
        }),
      'bad_input',
      /class 9 is not one of this catalogue's classes/,
    );
    await expectAppError(
      async () => await previewRoutingRules(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 1.5 }),
      'bad_input',
      /threshold: must be a calibrated confidence/,
    );
    await expectAppError(
      async () => await previewRoutingRules(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, threshold: 0.97 }),
      'forbidden',
    );
    await expectAppError(
      async () => await previewRoutingRules(f.db, { actor: f.ops, catalogueId: f.catalogueId, threshold: 0.97 }),
      'forbidden',
    );
    await expectAppError(
      async () => await previewRoutingRules(f.db, { actor: null, catalogueId: f.catalogueId, threshold: 0.97 }),
      'unauthorized',
    );
  });
});

describe('previewTargetThreshold', () => {
  it('names the threshold target mode would save and what it moves, without saving', async () => {
    const f = await makeTargetFixture(tmp.dir);
    const preview = await previewTargetThreshold(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      targetAccuracy: 0.6,
    });
    expect(preview).toMatchObject({ threshold: 0.5, entered: 0, left: 1, large: false });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    await expectAppError(
      async () =>
        await previewTargetThreshold(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          targetAccuracy: 0.6,
          expectedThreshold: 0.7,
        }),
      'conflict',
      /The threshold was changed to 0.9/,
    );
    await expectAppError(
      async () => await previewTargetThreshold(f.db, { actor: f.ops, catalogueId: f.catalogueId, targetAccuracy: 0.6 }),
      'forbidden',
    );
  });
});
