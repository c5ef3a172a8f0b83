import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { jobs, modelVersions } from '@/db/schema';
import { findActiveModel } from '@/lib/models/active';
import { promoteAndRescore } from '@/lib/models/promotion';
import { expectAppError, makeFixture, tempDir } from '../review/fixtures';
import { onlyRow } from '@/db/client';

const tmp = tempDir('loupe-promotion-');
afterAll(tmp.cleanup);

async function addVersion(fx: Awaited<ReturnType<typeof makeFixture>>, name: string, status: 'candidate' | 'rejected' | 'retired') {
  return await fx.db.insert(modelVersions).values({ catalogueId: fx.catalogueId, name, arch: 'cnn', parentId: fx.modelVersionId, weightsPath: `/models/${name}`, status }).returning().then(onlyRow);
}

describe('model promotion and rollback', () => {
  it('promotes a candidate and retires the active version in one step', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const candidate = await addVersion(fx, 'cand-1', 'candidate');
    const result = await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id, now: 1_800_000_000_000 });
    expect(result.promoted).toMatchObject({ id: candidate.id, status: 'active' });
    expect(result.promoted.promotedAt?.getTime()).toBe(1_800_000_000_000);
    expect(result.retired).toMatchObject({ id: fx.modelVersionId, status: 'retired' });
    expect((await findActiveModel(fx.db, fx.catalogueId))?.id).toBe(candidate.id);
    expect(await fx.db.select().from(modelVersions).where(eq(modelVersions.status, 'active'))).toHaveLength(1);
    // The promotion brings its re-score, committed with it.
    expect(result.rescoreJob).toMatchObject({ kind: 'score', status: 'queued', payload: { catalogueId: fx.catalogueId, rescore: true } });
  });

  it('rolls back to an earlier version in one action', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const candidate = await addVersion(fx, 'cand-2', 'candidate');
    await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id });
    const back = await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: fx.modelVersionId });
    expect(back.promoted.id).toBe(fx.modelVersionId);
    expect(back.retired?.id).toBe(candidate.id);
    expect((await findActiveModel(fx.db, fx.catalogueId))?.id).toBe(fx.modelVersionId);
  });

  it('refuses the active version, an unknown one, and roles without models.manage', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const candidate = await addVersion(fx, 'cand-3', 'candidate');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: fx.modelVersionId }), 'conflict');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: 999_999 }), 'not_found');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.reviewer, modelVersionId: candidate.id }), 'forbidden');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.ops, modelVersionId: candidate.id }), 'forbidden');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: null, modelVersionId: candidate.id }), 'unauthorized');
    expect((await findActiveModel(fx.db, fx.catalogueId))?.id).toBe(fx.modelVersionId);
    expect(await fx.db.select().from(jobs)).toEqual([]);
  });
});
