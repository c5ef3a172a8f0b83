import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { settingsChanges } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { getRoutingSettings } from '@/lib/routing/settings';
import { makeTargetFixture, tempDir, type Fixture } from '../review/fixtures';

// The actions ask next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
vi.mock('next/cache', () => ({ revalidatePath: () => {} }));

const { previewThresholdAction, previewRoutingRulesAction, previewTargetAction } =
  await import('@/app/settings/actions');

const tmp = tempDir('loupe-preview-action-');
let f: Fixture;

beforeAll(async () => {
  f = await makeTargetFixture(tmp.dir);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  data.set('catalogueId', String(f.catalogueId));
  for (const [key, value] of Object.entries(fields)) data.set(key, value);
  return data;
}

describe('the settings preview actions', () => {
  it('refuse reviewers, ops and signed-out callers', async () => {
    for (const [actor, code] of [
      [f.reviewer, 'forbidden'],
      [f.ops, 'forbidden'],
      [null, 'unauthorized'],
    ] as const) {
      signedIn = actor;
      expect(await previewThresholdAction(null, form({ threshold: '0.5' }))).toMatchObject({ ok: false, code });
      expect(await previewRoutingRulesAction(null, form({ auditRate: '0', goldRate: '0' }))).toMatchObject({
        ok: false,
        code,
      });
      expect(await previewTargetAction(null, form({ targetPercent: '60' }))).toMatchObject({ ok: false, code });
    }
  });

  it('count for an admin what each form would move, save nothing, and refuse a stale form with the save’s sentence', async () => {
    signedIn = f.admin;
    // One catalogue item waits at 0.8 under the threshold 0.9: lowering to 0.5 lets it leave.
    expect(await previewThresholdAction(null, form({ threshold: '0.5', expectedThreshold: '0.9' }))).toEqual({
      ok: true,
      data: {
        catalogueId: f.catalogueId,
        changed: ['threshold'],
        entered: 0,
        left: 1,
        held: 0,
        moved: 1,
        large: false,
      },
    });
    expect(await previewTargetAction(null, form({ targetPercent: '60', expectedThreshold: '0.9' }))).toMatchObject({
      ok: true,
      data: { threshold: 0.5, left: 1 },
    });
    expect(
      await previewRoutingRulesAction(
        null,
        form({
          'class-0': '0.5',
          'class-1': '0.5',
          'class-2': '0.5',
          'class-3': '0.5',
          'class-4': '0.5',
          auditRate: '0',
          goldRate: '0',
        }),
      ),
    ).toMatchObject({ ok: true, data: { left: 1 } });
    expect(await previewThresholdAction(null, form({ threshold: 'abc' }))).toMatchObject({
      ok: false,
      code: 'bad_input',
    });
    const stale = await previewThresholdAction(null, form({ threshold: '0.5', expectedThreshold: '0.7' }));
    expect(stale).toMatchObject({ ok: false, code: 'conflict' });
    expect(stale.ok ? '' : stale.message).toMatch(/^The threshold was changed to 0.9/);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await f.db.select().from(settingsChanges)).toEqual([]);
  });
});
