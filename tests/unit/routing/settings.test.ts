import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, leases, modelVersions, predictions, settings, settingsChanges } from '@/db/schema';
import { DEFAULT_THRESHOLD } from '@/lib/routing/route-by-confidence';
import { getRoutingSettings, setThreshold } from '@/lib/routing/settings';
import { listRoutingChanges } from '@/lib/routing/settings-history';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow, onlyRow } from '@/db/client';

const tmp = tempDir('loupe-settings-');
afterAll(tmp.cleanup);

const NOW = Date.parse('2025-06-01T12:00:00Z');

async function statusOf(f: Fixture, index: number): Promise<string> {
  return (await f.db
    .select({ status: items.status })
    .from(items)
    .where(eq(items.id, f.itemIds[index]!))
    .limit(1)
    .then(firstRow))!.status;
}

async function statuses(f: Fixture): Promise<string[]> {
  const found: string[] = [];
  for (let i = 0; i < f.itemIds.length; i++) found.push(await statusOf(f, i));
  return found;
}

describe('getRoutingSettings', () => {
  it('reads the settings row, and the default without one', async () => {
    const f = await makeFixture(tmp.dir, []);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    await f.db.update(settings).set({ threshold: 0.75 }).where(eq(settings.catalogueId, f.catalogueId));
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.75);
    await f.db.delete(settings).where(eq(settings.catalogueId, f.catalogueId));
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(DEFAULT_THRESHOLD);
  });
});

describe('setThreshold', () => {
  it('re-routes model-labelled items both ways and records who changed what', async () => {
    const f = await makeFixture(tmp.dir, [
      { confidence: 0.95, status: 'auto_accepted' },
      { confidence: 0.92, status: 'auto_accepted' },
      { confidence: 0.85, status: 'needs_review' },
      { confidence: 0.5, status: 'needs_review' },
      { confidence: 0.99, status: 'auto_accepted' },
    ]);
    const lowered = await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.8, now: NOW });
    expect(lowered).toEqual({
      catalogueId: f.catalogueId,
      oldThreshold: 0.9,
      threshold: 0.8,
      entered: 0,
      left: 1,
      held: 0,
    });
    expect(await statuses(f)).toEqual([
      'auto_accepted',
      'auto_accepted',
      'auto_accepted',
      'needs_review',
      'auto_accepted',
    ]);

    const raised = await setThreshold(f.db, {
      actor: f.admin,
      catalogueId: f.catalogueId,
      threshold: 0.97,
      now: NOW + 1000,
    });
    expect(raised).toMatchObject({ oldThreshold: 0.8, threshold: 0.97, entered: 3, left: 0 });
    expect(await statuses(f)).toEqual([
      'needs_review',
      'needs_review',
      'needs_review',
      'needs_review',
      'auto_accepted',
    ]);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.97);
    expect(
      await f.db.select().from(settings).where(eq(settings.catalogueId, f.catalogueId)).limit(1).then(firstRow),
    ).toMatchObject({
      updatedBy: f.admin.userId,
    });

    const history = (await listRoutingChanges(f.db, { catalogueId: f.catalogueId })).filter(
      (h) => h.field === 'threshold',
    );
    expect(history.map((h) => [h.oldValue, h.newValue, h.userEmail])).toEqual([
      [0.8, 0.97, f.admin.email],
      [0.9, 0.8, f.admin.email],
    ]);
    expect(history[0]!.createdAt.getTime()).toBe(NOW + 1000);
  });

  it('an item at exactly the threshold is accepted, as at scoring time', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: Math.fround(0.7), status: 'needs_review' }]);
    expect(await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.7 })).toMatchObject({
      left: 1,
    });
  });

  it('leaves held, human-labelled, import-labelled, evaluation, reviewed and unscored items alone', async () => {
    const f = await makeFixture(tmp.dir, [
      { confidence: 0.5, status: 'needs_review' }, // 0: held by a live lease
      { confidence: 0.5, status: 'needs_review' }, // 1: lease expired: routable
      { confidence: 0.5, status: 'needs_review' }, // 2: labelled by a human
      { confidence: 0.5, status: 'needs_review', importLabel: 1 }, // 3: label from the import
      { confidence: 0.5, status: 'needs_review' }, // 4: gold item
      { confidence: 0.5, status: 'reviewed' }, // 5
      { unscored: true, status: 'unscored' }, // 6
      { confidence: 0.99, status: 'auto_accepted' }, // 7: held, would enter the queue
    ]);
    await f.db
      .insert(leases)
      .values({ itemId: f.itemIds[0]!, reviewerId: f.reviewer.userId, expiresAt: new Date(NOW + 60_000) });
    await f.db
      .insert(leases)
      .values({ itemId: f.itemIds[1]!, reviewerId: f.reviewer.userId, expiresAt: new Date(NOW - 1) });
    await f.db
      .insert(leases)
      .values({ itemId: f.itemIds[7]!, reviewerId: f.reviewer2.userId, expiresAt: new Date(NOW + 60_000) });
    await f.db.update(items).set({ labelSource: 'human' }).where(eq(items.id, f.itemIds[2]!));
    await f.db.update(items).set({ evalRole: 'gold' }).where(eq(items.id, f.itemIds[4]!));

    const down = await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.1, now: NOW });
    expect(down).toMatchObject({ entered: 0, left: 1, held: 1 });
    expect(await statuses(f)).toEqual([
      'needs_review',
      'auto_accepted',
      'needs_review',
      'needs_review',
      'needs_review',
      'reviewed',
      'unscored',
      'auto_accepted',
    ]);

    const up = await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.999, now: NOW });
    expect(up).toMatchObject({ entered: 1, left: 0, held: 1 });
    expect(await statuses(f)).toEqual([
      'needs_review',
      'needs_review',
      'needs_review',
      'needs_review',
      'needs_review',
      'reviewed',
      'unscored',
      'auto_accepted',
    ]);
  });

  it('uses the active model only: items without its prediction stay as they are', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.5, status: 'needs_review' }]);
    const next = await f.db
      .insert(modelVersions)
      .values({ catalogueId: f.catalogueId, name: 'm2', arch: 'test', weightsPath: '/nonexistent' })
      .returning()
      .then(onlyRow);
    await f.db.update(modelVersions).set({ status: 'retired' }).where(eq(modelVersions.id, f.modelVersionId));
    await f.db.update(modelVersions).set({ status: 'active' }).where(eq(modelVersions.id, next.id));
    expect(await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.1 })).toMatchObject({
      entered: 0,
      left: 0,
    });
    expect(await statusOf(f, 0)).toBe('needs_review');
    // Once the new model has scored it, its confidence decides.
    await f.db.insert(predictions).values({
      itemId: f.itemIds[0]!,
      modelVersionId: next.id,
      probs: [0.2, 0.2, 0.2, 0.2, 0.2],
      predictedClass: 0,
      confidence: 0.2,
      margin: 0,
    });
    expect(await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.15 })).toMatchObject({
      left: 1,
    });
  });

  it('the same value changes nothing and records nothing', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.5, status: 'needs_review' }]);
    expect(await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.9 })).toMatchObject({
      entered: 0,
      left: 0,
    });
    expect(await f.db.select().from(settingsChanges)).toHaveLength(0);
  });

  it('refuses every role but admin, and signed-out callers, changing nothing', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.5, status: 'needs_review' }]);
    for (const actor of [f.reviewer, f.ops]) {
      await expectAppError(
        async () => await setThreshold(f.db, { actor, catalogueId: f.catalogueId, threshold: 0.1 }),
        'forbidden',
      );
    }
    await expectAppError(
      async () => await setThreshold(f.db, { actor: null, catalogueId: f.catalogueId, threshold: 0.1 }),
      'unauthorized',
    );
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await statusOf(f, 0)).toBe('needs_review');
    expect(await f.db.select().from(settingsChanges)).toHaveLength(0);
  });

  it('refuses a threshold outside (0, 1) with a sentence, and an unknown catalogue', async () => {
    const f = await makeFixture(tmp.dir, [{ confidence: 0.5, status: 'needs_review' }]);
    for (const threshold of [0, 1, -0.2, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expectAppError(
        async () => await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold }),
        'bad_input',
        /strictly between 0 and 1/,
      );
    }
    await expectAppError(
      async () =>
        await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: '0.5' as unknown as number }),
      'bad_input',
      /between 0 and 1/,
    );
    await expectAppError(
      async () => await setThreshold(f.db, { actor: f.admin, catalogueId: 9999, threshold: 0.5 }),
      'not_found',
    );
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await f.db.select().from(settingsChanges)).toHaveLength(0);
  });
});
