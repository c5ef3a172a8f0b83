import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { items, predictions, settingsChanges } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { storedHoldoutAccuracy } from '@/lib/models/versions';
import { getRoutingSettings } from '@/lib/routing/settings';
import { makeTargetFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow } from '@/db/client';

// The route asks next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const { PUT } = await import('@/app/api/v1/catalogues/[slug]/threshold/route');

const tmp = tempDir('loupe-threshold-route-');
let f: Fixture;

beforeAll(async () => {
  f = await makeTargetFixture(tmp.dir);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

async function put(body: unknown, slug = 'demo'): Promise<{ status: number; json: any }> {
  const request = new Request(`http://localhost/api/v1/catalogues/${slug}/threshold`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const response = await PUT(request, { params: Promise.resolve({ slug }) });
  return { status: response.status, json: await response.json() };
}

describe('PUT /api/v1/catalogues/:slug/threshold', () => {
  it('refuses reviewers, ops and signed-out callers before reading the body, and changes nothing', async () => {
    for (const [actor, status] of [
      [f.reviewer, 403],
      [f.ops, 403],
      [null, 401],
    ] as const) {
      signedIn = actor;
      expect((await put({ threshold: 0.5 })).status).toBe(status);
    }
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
    expect(await f.db.select().from(settingsChanges)).toEqual([]);
  });

  it('answers bad bodies with a 400 sentence and an unknown catalogue with 404', async () => {
    signedIn = f.admin;
    for (const [body, message] of [
      ['not json', /must be JSON/],
      [{}, /exactly one of the two/],
      [{ threshold: 0.8, targetAccuracy: 0.9 }, /exactly one of the two/],
      [{ threshold: 1.5 }, /threshold: must be a calibrated confidence strictly between 0 and 1/],
      [{ targetAccuracy: 0 }, /targetAccuracy: must be an accuracy above 0/],
      [{ threshold: 0.8, extra: 1 }, /extra/],
    ] as const) {
      const answer = await put(body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json.error.message).toMatch(message);
    }
    expect((await put({ threshold: 0.8 }, 'nope')).status).toBe(404);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.9);
  });

  it('sets a fixed threshold and re-routes; target mode picks the lowest threshold meeting the target', async () => {
    signedIn = f.admin;
    const fixed = await put({ threshold: 0.75 });
    expect(fixed).toMatchObject({
      status: 200,
      json: { mode: 'fixed', change: { oldThreshold: 0.9, threshold: 0.75, left: 1 } },
    });
    expect(
      (
        await f.db
          .select({ status: items.status })
          .from(items)
          .where(eq(items.id, f.itemIds[3]!))
          .limit(1)
          .then(firstRow)
      )?.status,
    ).toBe('auto_accepted');
    // 2 of 3 held-out items right from 0.50 to 0.70, 1 of 1 from 0.93: 100% -> 0.93.
    const target = await put({ targetAccuracy: 1 });
    expect(target).toMatchObject({
      status: 200,
      json: { mode: 'target', targetAccuracy: 1, change: { oldThreshold: 0.75, threshold: 0.93, entered: 1 } },
    });
    expect(target.json.sentence).toMatch(/0.93 is the lowest threshold reaching 100/);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
    const fields = (await f.db.select({ field: settingsChanges.field }).from(settingsChanges)).map((r) => r.field);
    expect(fields).toEqual(['threshold', 'threshold', 'target_accuracy']);
  });

  it('answers 409 with the reason when no threshold reaches the target', async () => {
    signedIn = f.admin;
    await f.db.update(items).set({ importLabel: 4 }).where(eq(items.id, f.itemIds[0]!));
    const refused = await put({ targetAccuracy: 0.99 });
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toMatch(/No threshold from 0.5 to 0.99 reaches 99.00%/);
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
  });

  it('picks nothing while the holdout predictions are incomplete (the evaluate job stores them in rounds)', async () => {
    signedIn = f.admin;
    const ids = { catalogueId: f.catalogueId, modelVersionId: f.modelVersionId };
    expect(await storedHoldoutAccuracy(f.db, ids)).toMatchObject({ total: 3 });
    await f.db.delete(predictions).where(eq(predictions.itemId, f.itemIds[1]!));
    const refused = await put({ targetAccuracy: 0.5 });
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toMatch(
      /predictions on 2 of the 3 held-out items so far .* try again in a minute/,
    );
    expect((await getRoutingSettings(f.db, f.catalogueId)).threshold).toBe(0.93);
    // Nor does the models page show the accuracy of the first rounds as the holdout's.
    expect(await storedHoldoutAccuracy(f.db, ids)).toBeNull();
  });
});
