import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { items, settingsChanges } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { getRoutingSettings } from '@/lib/routing/settings';
import { makeTargetFixture, tempDir, type Fixture } from '../review/fixtures';

// The action asks next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
vi.mock('next/cache', () => ({ revalidatePath: () => {} }));

const { applyTargetThresholdAction } = await import('@/app/settings/projection-actions');

const tmp = tempDir('loupe-projection-action-');
let f: Fixture;

beforeAll(async () => {
  f = await makeTargetFixture(tmp.dir);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function form(targetPercent: string): FormData {
  const data = new FormData();
  data.set('catalogueId', String(f.catalogueId));
  data.set('targetPercent', targetPercent);
  return data;
}

describe('applyTargetThresholdAction', () => {
  it('refuses reviewers, ops and signed-out callers, and changes nothing', async () => {
    for (const [actor, code] of [
      [f.reviewer, 'forbidden'],
      [f.ops, 'forbidden'],
      [null, 'unauthorized'],
    ] as const) {
      signedIn = actor;
      expect(await applyTargetThresholdAction(null, form('99'))).toMatchObject({ ok: false, code });
    }
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await f.db.select().from(settingsChanges)).toEqual([]);
  });

  it('saves the lowest threshold meeting the target for an admin, reads the field as a percentage, and explains refusals', async () => {
    signedIn = f.admin;
    expect(await applyTargetThresholdAction(null, form('abc'))).toMatchObject({ ok: false, code: 'bad_input' });
    // 2 of 3 right from 0.50 to 0.70, 1 of 2 up to 0.92, 1 of 1 from 0.93 to 0.95: 60% -> 0.50, 100% -> 0.93.
    const result = await applyTargetThresholdAction(null, form('60'));
    expect(result).toMatchObject({
      ok: true,
      data: { threshold: 0.5, targetAccuracy: 0.6, change: { oldThreshold: 0.9, threshold: 0.5, left: 1 } },
    });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.5);
    expect(await applyTargetThresholdAction(null, form('100'))).toMatchObject({ ok: true, data: { threshold: 0.93 } });
    await f.db.update(items).set({ importLabel: 4 }).where(eq(items.id, f.itemIds[0]!));
    const refused = await applyTargetThresholdAction(null, form('99'));
    expect(refused).toMatchObject({ ok: false, code: 'conflict' });
    expect(refused.ok ? '' : refused.message).toMatch(/No threshold from 0.5 to 0.99 reaches 99.00%/);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
  });
});
