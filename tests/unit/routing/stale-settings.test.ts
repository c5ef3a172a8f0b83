/**
 * A settings form loaded before another change must not silently overwrite it: each form sends
 * the value it started from, and the write refuses (conflict) when the stored value differs.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { predictions, settings, settingsChanges } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { getRetrainPolicy, setRetrainPolicy } from '@/lib/learning/schedule';
import { getRoutingSettings, setRoutingRules, setThreshold } from '@/lib/routing/settings';
import { applyTargetThreshold } from '@/lib/routing/target-threshold';
import { expectAppError, makeTargetFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow } from '@/db/client';

let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
vi.mock('next/cache', () => ({ revalidatePath: () => {} }));

const { setThresholdAction, setRoutingRulesAction, setRetrainPolicyAction } = await import('@/app/settings/actions');
const { applyTargetThresholdAction } = await import('@/app/settings/projection-actions');
const { PUT } = await import('@/app/api/v1/catalogues/[slug]/threshold/route');

const tmp = tempDir('loupe-stale-settings-');
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

let f: Fixture;
let other: Actor;

beforeEach(async () => {
  f = await makeTargetFixture(tmp.dir);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  const user = await createUserAsSystem(f.db, {
    email: `bea-${Math.random().toString(36).slice(2)}@example.test`,
    name: 'Bea',
    password: 'correct horse battery',
    role: 'admin',
    passwordCost: 4,
  });
  other = { userId: user.id, role: user.role, email: user.email };
  signedIn = f.admin;
});

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  data.set('catalogueId', String(f.catalogueId));
  for (const [key, value] of Object.entries(fields)) data.set(key, value);
  return data;
}

async function historyRows(): Promise<number> {
  return (await f.db.select().from(settingsChanges).where(eq(settingsChanges.catalogueId, f.catalogueId))).length;
}

describe('a stale threshold form', () => {
  it('after target mode saved 0.93, a form loaded at 0.9 is refused with who changed it, and nothing changes', async () => {
    // The other admin uses target mode: 100% on the holdout -> 0.93.
    await applyTargetThreshold(f.db, { actor: other, catalogueId: f.catalogueId, targetAccuracy: 1 });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
    const rows = await historyRows();
    await expectAppError(
      async () =>
        await setThreshold(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          threshold: 0.85,
          expectedThreshold: 0.9,
        }),
      'conflict',
      new RegExp(
        `^The threshold was changed to 0\\.93 by ${other.email!.replace('.', '\\.')} since you loaded this page; reload to see it\\.$`,
      ),
    );
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
    expect(await historyRows()).toBe(rows);
    // A form that saw 0.93 saves; a caller that sends no expected value is not checked (scripts, the old API).
    expect(
      await setThreshold(f.db, {
        actor: f.admin,
        catalogueId: f.catalogueId,
        threshold: 0.85,
        expectedThreshold: 0.93,
      }),
    ).toMatchObject({ oldThreshold: 0.93, threshold: 0.85 });
    expect(await setThreshold(f.db, { actor: f.admin, catalogueId: f.catalogueId, threshold: 0.8 })).toMatchObject({
      oldThreshold: 0.85,
      threshold: 0.8,
    });
  });

  it('the form action sends expectedThreshold and answers conflict; a change the history does not record names nobody', async () => {
    await setThreshold(f.db, { actor: other, catalogueId: f.catalogueId, threshold: 0.7 });
    expect(await setThresholdAction(null, form({ threshold: '0.85', expectedThreshold: '0.9' }))).toEqual({
      ok: false,
      code: 'conflict',
      message: `The threshold was changed to 0.7 by ${other.email} since you loaded this page; reload to see it.`,
    });
    await f.db.update(settings).set({ threshold: 0.6 }).where(eq(settings.catalogueId, f.catalogueId));
    expect(await setThresholdAction(null, form({ threshold: '0.85', expectedThreshold: '0.7' }))).toMatchObject({
      ok: false,
      code: 'conflict',
      message: 'The threshold was changed to 0.6 since you loaded this page; reload to see it.',
    });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.6);
    expect(await setThresholdAction(null, form({ threshold: '0.85', expectedThreshold: '0.6' }))).toMatchObject({
      ok: true,
      data: { oldThreshold: 0.6, threshold: 0.85 },
    });
  });

  it('target mode from a stale page is refused too', async () => {
    await setThreshold(f.db, { actor: other, catalogueId: f.catalogueId, threshold: 0.8 });
    const rows = await historyRows();
    await expectAppError(
      async () =>
        await applyTargetThreshold(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          targetAccuracy: 1,
          expectedThreshold: 0.9,
        }),
      'conflict',
      /^The threshold was changed to 0\.8 by .* since you loaded this page; reload to see it\.$/,
    );
    expect(
      await applyTargetThresholdAction(null, form({ targetPercent: '100', expectedThreshold: '0.9' })),
    ).toMatchObject({ ok: false, code: 'conflict' });
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.8);
    // Staleness is said first, even when no threshold could be picked now.
    const holdoutPrediction = (await f.db
      .select()
      .from(predictions)
      .where(eq(predictions.itemId, f.itemIds[0]!))
      .limit(1)
      .then(firstRow))!;
    await f.db.delete(predictions).where(eq(predictions.id, holdoutPrediction.id));
    await expectAppError(
      async () =>
        await applyTargetThreshold(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          targetAccuracy: 1,
          expectedThreshold: 0.9,
        }),
      'conflict',
      /^The threshold was changed to 0\.8 by /,
    );
    await f.db.insert(predictions).values(holdoutPrediction);
    // No target_accuracy row either: the whole transaction was refused.
    expect(await historyRows()).toBe(rows);
    expect(
      await applyTargetThresholdAction(null, form({ targetPercent: '100', expectedThreshold: '0.8' })),
    ).toMatchObject({ ok: true, data: { threshold: 0.93 } });
  });

  it('PUT /threshold checks an optional expectedThreshold (409) and works as before without one', async () => {
    const put = async (body: unknown) => {
      const request = new Request('http://localhost/api/v1/catalogues/demo/threshold', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const response = await PUT(request, { params: Promise.resolve({ slug: 'demo' }) });
      return { status: response.status, json: (await response.json()) as { error?: { message: string } } };
    };
    const stale = await put({ threshold: 0.8, expectedThreshold: 0.85 });
    expect(stale.status).toBe(409);
    expect(stale.json.error?.message).toMatch(/^The threshold was changed to 0\.9 since you loaded this page/);
    expect((await put({ targetAccuracy: 1, expectedThreshold: 0.85 })).status).toBe(409);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect((await put({ threshold: 0.8, expectedThreshold: 0.9 })).status).toBe(200);
    expect((await put({ threshold: 0.75 })).status).toBe(200);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.75);
  });
});

describe('a stale routing-rules form', () => {
  it('refuses when the overrides, audit or gold rate it started from were changed, naming the change', async () => {
    await setRoutingRules(f.db, { actor: other, catalogueId: f.catalogueId, perClassThresholds: { 3: 0.97 } });
    const loaded = {
      perClassThresholds: {},
      auditRate: 0,
      goldRate: (await getRoutingSettings(f.db, f.catalogueId)).goldRate,
    };
    await expectAppError(
      async () =>
        await setRoutingRules(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          perClassThresholds: {},
          auditRate: 0.1,
          goldRate: loaded.goldRate,
          expected: loaded,
        }),
      'conflict',
      new RegExp(
        `^The per-class thresholds were changed to three 0\\.97 by .* since you loaded this page; reload to see it\\.$`,
      ),
    );
    expect(await getRoutingSettings(f.db, f.catalogueId)).toMatchObject({
      perClassThresholds: { 3: 0.97 },
      auditRate: 0,
    });
    // The rules form does not overwrite the global threshold: a threshold change does not make it stale.
    await setThreshold(f.db, { actor: other, catalogueId: f.catalogueId, threshold: 0.8 });
    const fresh = { ...loaded, perClassThresholds: { 3: 0.97 } };
    const result = await setRoutingRulesAction(
      null,
      form({ 'class-3': '0.97', auditRate: '0.1', goldRate: String(loaded.goldRate), expected: JSON.stringify(fresh) }),
    );
    expect(result).toMatchObject({ ok: true, data: { changed: ['auditRate'] } });
    expect(
      await setRoutingRulesAction(
        null,
        form({ auditRate: '0.2', goldRate: String(loaded.goldRate), expected: JSON.stringify(fresh) }),
      ),
    ).toMatchObject({
      ok: false,
      code: 'conflict',
      message: `The audit rate was changed to 0.1 by ${f.admin.email} since you loaded this page; reload to see it.`,
    });
    expect((await getRoutingSettings(f.db, f.catalogueId)).auditRate).toBe(0.1);
  });
});

describe('a stale retrain-policy form', () => {
  it('refuses when the policy it started from was changed, and saves when it matches', async () => {
    const loaded = await getRetrainPolicy(f.db, f.catalogueId);
    await setRetrainPolicy(f.db, {
      actor: other,
      catalogueId: f.catalogueId,
      policy: { ...loaded, minNewLabels: loaded.minNewLabels + 1 },
    });
    await expectAppError(
      async () =>
        await setRetrainPolicy(f.db, {
          actor: f.admin,
          catalogueId: f.catalogueId,
          policy: { ...loaded, enabled: !loaded.enabled },
          expected: loaded,
        }),
      'conflict',
      new RegExp(
        `^The retrain policy's new labels to retrain was changed to ${loaded.minNewLabels + 1} by .* since you loaded this page; reload to see it\\.$`,
      ),
    );
    expect((await getRetrainPolicy(f.db, f.catalogueId)).enabled).toBe(loaded.enabled);
    const stale = form({
      minNewLabels: String(loaded.minNewLabels),
      intervalMinutes: '',
      maxHoldoutDropPoints: String(loaded.maxHoldoutDropPoints),
      expected: JSON.stringify(loaded),
    });
    expect(await setRetrainPolicyAction(null, stale)).toMatchObject({ ok: false, code: 'conflict' });
    const current = await getRetrainPolicy(f.db, f.catalogueId);
    stale.set('expected', JSON.stringify(current));
    expect(await setRetrainPolicyAction(null, stale)).toMatchObject({ ok: true });
  });
});
