import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, jobs, modelVersions } from '@/db/schema';
import { claimJob, enqueueJob, failJob } from '@/lib/jobs/lifecycle';
import { listJobs } from '@/lib/jobs/list';
import { requestRetrainNow } from '@/lib/learning/schedule';
import { findActiveModel } from '@/lib/models/active';
import { promoteAndRescore } from '@/lib/models/promotion';
import { listModelVersions } from '@/lib/models/versions';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { onlyRow } from '@/db/client';

const tmp = tempDir('loupe-model-versions-');
afterAll(tmp.cleanup);

async function addCandidate(fx: Fixture, name: string, status: 'candidate' | 'rejected', metrics: Record<string, unknown>) {
  const withParent = metrics.active ? { ...metrics, active: { ...(metrics.active as object), modelVersionId: fx.modelVersionId } } : metrics;
  return await fx.db.insert(modelVersions).values({ catalogueId: fx.catalogueId, name, arch: 'cnn', parentId: fx.modelVersionId, weightsPath: `/models/${name}`, status, metrics: withParent }).returning().then(onlyRow);
}

/** The shape lib/learning/retrain.ts writes (RetrainMetrics), trimmed to what the page reads. */
const CANDIDATE_METRICS = {
  kind: 'fine-tune',
  holdout: { correct: 930, total: 1000, accuracy: 0.93 },
  heldOutHuman: { correct: 40, total: 50, accuracy: 0.8 },
  ece: 0.012,
  active: { modelVersionId: 0, name: 'm1', holdout: { correct: 928, total: 1000, accuracy: 0.928 }, heldOutHuman: { correct: 35, total: 50, accuracy: 0.7 }, ece: 0.02 },
  humanLabelsUsed: 200,
  replayUsed: 2000,
  throughReviewId: 17,
  trainingSeconds: 41.5,
  decision: { promote: false, reason: 'Rejected: accuracy on 50 held-out human labels did not improve.', holdoutDeltaPoints: 0.2, heldOutHumanDeltaPoints: 10, maxHoldoutDropPoints: 0.2 },
};

describe('model versions for the models page', () => {
  it('lists versions newest first with their metrics side by side, for admins and ops only', async () => {
    const fx = await makeFixture(tmp.dir, []);
    await fx.db.update(modelVersions).set({ metrics: { validation: { accuracy: 0.9342, loss: 0.2, ece: 0.0073, eceUncalibrated: 0.01 }, params: 428970 } }).where(eq(modelVersions.id, fx.modelVersionId));
    const candidate = await addCandidate(fx, 'ft-1', 'rejected', CANDIDATE_METRICS);
    for (const actor of [fx.admin, fx.ops]) {
      const list = await listModelVersions(fx.db, { actor, catalogue: 'demo' });
      expect(list.catalogue).toMatchObject({ id: fx.catalogueId, slug: 'demo' });
      expect(list.versions.map((v) => v.id)).toEqual([candidate.id, fx.modelVersionId]);
    }
    const [cand, shipped] = (await listModelVersions(fx.db, { actor: fx.admin, catalogue: 'demo' })).versions;
    expect(cand).toMatchObject({
      name: 'ft-1',
      status: 'rejected',
      parentName: 'm1',
      holdout: { accuracy: 0.93, total: 1000 },
      parentHoldout: { accuracy: 0.928 },
      heldOutHuman: { accuracy: 0.8, correct: 40, total: 50 },
      parentHeldOutHuman: { accuracy: 0.7 },
      ece: 0.012,
      eceOn: 'holdout',
      humanLabelsUsed: 200,
      replayUsed: 2000,
      gateReason: expect.stringContaining('did not improve'),
    });
    // The shipped model has no holdout figure of its own: the latest run that measured it as the parent supplies one.
    expect(shipped).toMatchObject({ name: 'm1', status: 'active', holdout: { accuracy: 0.928, total: 1000 }, ece: 0.02, eceOn: 'holdout', measuredIn: 'ft-1', heldOutHuman: null, validationAccuracy: 0.9342, gateReason: null, parentName: null });
    expect(cand?.measuredIn).toBeNull();
    await expectAppError(async () => await listModelVersions(fx.db, { actor: fx.reviewer, catalogue: 'demo' }), 'forbidden');
    await expectAppError(async () => await listModelVersions(fx.db, { actor: fx.admin, catalogue: 'nope' }), 'not_found');
  });

  it("before any retrain, the shipped model's holdout figure comes from its stored holdout predictions (the evaluate job)", async () => {
    const fx = await makeFixture(tmp.dir, [
      { predictedClass: 0, importLabel: 0 },
      { predictedClass: 1, importLabel: 2 },
      { predictedClass: 2, importLabel: 2 },
      { predictedClass: 1 },
    ]);
    await fx.db.update(items).set({ evalRole: 'holdout', status: 'reviewed' }).where(inArray(items.id, fx.itemIds.slice(0, 3)));
    const [shipped] = (await listModelVersions(fx.db, { actor: fx.ops, catalogue: 'demo' })).versions;
    // 2 of the 3 holdout items right; the fourth item is no holdout item and does not count.
    expect(shipped).toMatchObject({ name: 'm1', holdout: { correct: 2, total: 3 }, measuredIn: 'the evaluate job' });
    expect(shipped?.holdout?.accuracy).toBeCloseTo(2 / 3, 10);
  });

  it('promote and roll back each queue a re-score in the same commit; other roles change nothing', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const candidate = await addCandidate(fx, 'ft-2', 'rejected', CANDIDATE_METRICS);
    for (const actor of [fx.ops, fx.reviewer]) await expectAppError(async () => await promoteAndRescore(fx.db, { actor, modelVersionId: candidate.id }), 'forbidden');
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: 0 }), 'bad_input');
    expect(await fx.db.select().from(jobs)).toHaveLength(0);

    const promoted = await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id });
    expect(promoted).toMatchObject({ promoted: { id: candidate.id, status: 'active' }, retired: { id: fx.modelVersionId }, rescoreJob: { kind: 'score', status: 'queued', payload: { catalogueId: fx.catalogueId, rescore: true } } });
    // Rolled back before the worker got to it: the waiting re-score serves both.
    const back = await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: fx.modelVersionId });
    expect(back.rescoreJob.id).toBe(promoted.rescoreJob.id);
    expect((await findActiveModel(fx.db, fx.catalogueId))?.id).toBe(fx.modelVersionId);
    // Once a re-score is running, a new promotion gets its own (the running one may have read the old model).
    await claimJob(fx.db, { owner: 'w', kinds: ['score'] });
    expect((await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id })).rescoreJob.id).not.toBe(promoted.rescoreJob.id);
    // Already active: a conflict, and no job.
    const before = (await fx.db.select().from(jobs)).length;
    await expectAppError(async () => await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id }), 'conflict');
    expect(await fx.db.select().from(jobs)).toHaveLength(before);
  });

  it('a plain score job waiting does not stand in for the re-score', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const candidate = await addCandidate(fx, 'ft-3', 'candidate', {});
    await enqueueJob(fx.db, { kind: 'score', payload: { catalogueId: fx.catalogueId }, exclusivePerCatalogue: true });
    const { rescoreJob } = await promoteAndRescore(fx.db, { actor: fx.admin, modelVersionId: candidate.id });
    expect(rescoreJob.payload).toEqual({ catalogueId: fx.catalogueId, rescore: true });
    expect(await fx.db.select().from(jobs)).toHaveLength(2);
  });
});

describe('job list', () => {
  it('shows recent jobs with progress, reason, who asked and the error, filtered; admins only', async () => {
    const fx = await makeFixture(tmp.dir, []);
    const train = (await requestRetrainNow(fx.db, { actor: fx.admin, catalogueId: fx.catalogueId, now: 1000 })).job;
    const score = (await enqueueJob(fx.db, { kind: 'score', payload: { catalogueId: fx.catalogueId }, maxAttempts: 1, now: 2000 })).job;
    await claimJob(fx.db, { owner: 'w', kinds: ['score'], now: 3000 });
    await failJob(fx.db, { jobId: score.id, owner: 'w', error: 'The model folder is missing.', now: 4000 });

    const all = await listJobs(fx.db, { actor: fx.admin });
    expect(all.map((j) => [j.id, j.kind, j.status])).toEqual([
      [score.id, 'score', 'failed'],
      [train.id, 'train', 'queued'],
    ]);
    expect(all[0]).toMatchObject({ catalogue: 'demo', reason: 'new items', error: 'The model folder is missing.', attempts: 1, maxAttempts: 1 });
    expect(all[1]).toMatchObject({ catalogue: 'demo', reason: 'manual', requestedBy: fx.admin.email, error: null });
    expect((await listJobs(fx.db, { actor: fx.admin, catalogue: 'demo', kind: 'train' })).map((j) => j.id)).toEqual([train.id]);
    expect((await listJobs(fx.db, { actor: fx.admin, status: 'failed', kind: '' as never, limit: 1 })).map((j) => j.id)).toEqual([score.id]);
    await expectAppError(async () => await listJobs(fx.db, { actor: fx.admin, kind: 'bake' as never }), 'bad_input', /^kind: must be one of import, score, train, evaluate, lab$/);
    await expectAppError(async () => await listJobs(fx.db, { actor: fx.admin, limit: 1000 }), 'bad_input', /^limit: must be a whole number from 1 to 200$/);
    await expectAppError(async () => await listJobs(fx.db, { actor: fx.admin, catalogue: 'nope' }), 'not_found');
    for (const actor of [fx.ops, fx.reviewer]) await expectAppError(async () => await listJobs(fx.db, { actor }), 'forbidden');
  });
});
