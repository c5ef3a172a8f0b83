import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items, jobs, modelVersions, predictions } from '@/db/schema';
import { claimJob, failJob } from '@/lib/jobs/lifecycle';
import {
  countMissingHoldoutPredictions,
  evaluateActiveOnHoldout,
  FAILED_EVALUATION_BACKOFF_MS,
} from '@/lib/learning/evaluate-active';
import { initBackend } from '@/lib/ml/backend';
import { saveUntrainedModel } from '@/lib/ml/model-store';
import { runClaimedJob } from '@/lib/worker/run-job';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { scheduleJobs } from '@/lib/worker/schedule-jobs';
import { CLASSES, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-evaluate-active-');
afterAll(tmp.cleanup);
const modelDir = path.join(tmp.dir, 'model');
const T0 = Date.parse('2025-06-01T12:00:00Z');

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(modelDir, { arch: 'mlp', classNames: [...CLASSES], seed: 5 });
});

/** Two scored catalogue items and four holdout items (trusted labels, no predictions yet). */
async function holdoutFixture(): Promise<Fixture & { holdoutIds: number[] }> {
  const f = await makeFixture(tmp.dir, [
    {},
    {},
    ...[0, 1, 2, 3].map((label) => ({ unscored: true, importLabel: label })),
  ]);
  const holdoutIds = f.itemIds.slice(2);
  await f.db.update(items).set({ evalRole: 'holdout', status: 'reviewed' }).where(inArray(items.id, holdoutIds));
  await f.db
    .update(modelVersions)
    .set({ weightsPath: modelDir, temperature: 1 })
    .where(eq(modelVersions.id, f.modelVersionId));
  return { ...f, holdoutIds };
}

async function holdoutPredictions(f: Fixture & { holdoutIds: number[] }) {
  return await f.db
    .select()
    .from(predictions)
    .where(and(eq(predictions.modelVersionId, f.modelVersionId), inArray(predictions.itemId, f.holdoutIds)));
}

describe('the evaluate job', () => {
  it('is queued once while the active model lacks holdout predictions, and stores them when the worker runs it', async () => {
    const f = await holdoutFixture();
    expect(
      await countMissingHoldoutPredictions(f.db, { catalogueId: f.catalogueId, modelVersionId: f.modelVersionId }),
    ).toBe(4);
    const first = await scheduleJobs(f.db, { now: T0, retrain: false });
    expect(first.map((s) => s.kind)).toEqual(['evaluate']);
    expect(await scheduleJobs(f.db, { now: T0 + 1, retrain: false })).toEqual([]);

    const job = (await claimJob(f.db, { owner: 'w', kinds: ['evaluate'], now: T0 + 2 }))!;
    expect(job.payload).toEqual({ catalogueId: f.catalogueId, modelVersionId: f.modelVersionId });
    const outcome = await runClaimedJob({
      db: f.db,
      job,
      owner: 'w',
      leaseMs: 60_000,
      handlers: WORKER_HANDLERS,
      log: () => {},
    });
    expect(outcome).toBe('succeeded');
    const done = (await f.db.select().from(jobs).where(eq(jobs.id, job.id)).limit(1).then(firstRow))!;
    expect(done.progress).toMatchObject({ phase: 'done', evaluated: true, holdoutItems: 4, computed: 4 });

    const stored = await holdoutPredictions(f);
    expect(stored).toHaveLength(4);
    for (const p of stored) {
      expect(p.probs).toHaveLength(CLASSES.length);
      expect(p.confidence).toBeCloseTo(Math.max(...p.probs), 5);
      expect(p.probs[p.predictedClass]).toBe(Math.max(...p.probs));
    }
    expect(
      await countMissingHoldoutPredictions(f.db, { catalogueId: f.catalogueId, modelVersionId: f.modelVersionId }),
    ).toBe(0);
    expect(await scheduleJobs(f.db, { now: T0 + 3, retrain: false })).toEqual([]);
    // A second run computes nothing: the stored predictions are reused.
    expect(
      await evaluateActiveOnHoldout(f.db, { catalogueId: f.catalogueId, modelVersionId: f.modelVersionId }),
    ).toMatchObject({ evaluated: true, computed: 0, holdoutItems: 4 });
  });

  it('does nothing for a version that is no longer active, and backs off after a failure', async () => {
    const f = await holdoutFixture();
    expect(
      await evaluateActiveOnHoldout(f.db, { catalogueId: f.catalogueId, modelVersionId: f.modelVersionId + 100 }),
    ).toMatchObject({ evaluated: false, computed: 0 });
    expect(await holdoutPredictions(f)).toHaveLength(0);

    await scheduleJobs(f.db, { now: T0, retrain: false });
    const job = (await claimJob(f.db, { owner: 'w', kinds: ['evaluate'], now: T0 }))!;
    await failJob(f.db, { jobId: job.id, owner: 'w', error: 'broken model folder', retry: false, now: T0 + 1 });
    expect(await scheduleJobs(f.db, { now: T0 + 2, retrain: false })).toEqual([]);
    expect(
      (await scheduleJobs(f.db, { now: T0 + 2 + FAILED_EVALUATION_BACKOFF_MS, retrain: false })).map((s) => s.kind),
    ).toEqual(['evaluate']);
  });
});
