import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, withTransaction, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, jobs, modelVersions } from '@/db/schema';
import { readIdxSplit } from '@/lib/formats/idx';
import { ensureCatalogue, importItems } from '@/lib/import';
import { claimJob } from '@/lib/jobs/lifecycle';
import { enqueueRescoreJob, enqueueScoreJob, isNewItemsScoreJob } from '@/lib/jobs/payloads';
import { readModelMeta } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { createScoringLane, prepareScoring } from '@/lib/worker/scoring-lane';

/*
 * The ordering rule of scoring: new items are never held up by a re-score after a promotion.
 * A re-score waiting or running does not stand in for the score job of new items; the scoring
 * lane runs the two apart; and the new items' job finishes first though the re-score was queued
 * first and is larger. Real SQLite, the shipped model (two copies: the promoted version must
 * predict every item again), real scoring.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-scoring-order-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SCORED = 3000;
const NEW = 500;
let db: Db;
let catalogueId: number;
let images: Uint8Array;

async function importImages(source: string, from: number, count: number) {
  await importItems(db, {
    catalogueSlug: 'demo',
    kind: 'idx',
    source,
    items: Array.from({ length: count }, (_, i) => ({
      pixels: images.subarray((from + i) * 784, (from + i + 1) * 784),
      label: null,
      sourceRow: i,
    })),
  });
}

const unscored = async () =>
  (await db
    .select({ n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), eq(items.status, 'unscored')))
    .limit(1)
    .then(firstRow))!.n;

beforeAll(async () => {
  images = readIdxSplit(path.resolve('datasets/fashion-mnist'), 't10k').images.pixels;
  const first = path.join(dir, 'v1');
  const second = path.join(dir, 'v2');
  fs.cpSync(path.resolve('models/production'), first, { recursive: true });
  fs.cpSync(path.resolve('models/production'), second, { recursive: true });
  db = openDb(path.join(dir, 'order.db'));
  await migrateDb(db);
  catalogueId = (await ensureCatalogue(db, { slug: 'demo', name: 'Demo', classNames: readModelMeta(first).classNames }))
    .id;
  const v1 = await registerInitialModel(db, { catalogueId, name: 'v1', dir: first, meta: readModelMeta(first) });
  await importImages('before', 0, SCORED);
  expect((await scoreUnscoredItems(db, { catalogueId })).scored).toBe(SCORED);
  // A promotion: v2 active, and its re-score queued in the same commit, as lib/models/promotion does.
  await withTransaction(db, async (tx) => {
    await tx.update(modelVersions).set({ status: 'retired' }).where(eq(modelVersions.id, v1.id));
    await tx.insert(modelVersions).values({
      catalogueId,
      name: 'v2',
      arch: 'cnn',
      weightsPath: second,
      temperature: v1.temperature,
      status: 'active',
    });
    await enqueueRescoreJob(tx, { catalogueId });
  });
}, 120_000);

describe('scoring order', () => {
  it('queues a score job for new items while a re-score waits, and only one', async () => {
    const rescore = await db.select().from(jobs).where(eq(jobs.kind, 'score'));
    expect(rescore).toHaveLength(1);
    await importImages('after', SCORED, NEW);
    const first = await enqueueScoreJob(db, catalogueId);
    expect(first.created).toBe(true);
    expect(first.job.id).not.toBe(rescore[0]!.id);
    expect(await enqueueScoreJob(db, catalogueId)).toMatchObject({ created: false, job: { id: first.job.id } });
  });

  it('claims new-item score jobs apart from re-scores', async () => {
    const now = Date.now();
    // Nothing claimed for good: a lease that expired already leaves both jobs claimable again below.
    const newItems = await claimJob(db, {
      owner: 'probe',
      kinds: ['score'],
      where: isNewItemsScoreJob,
      leaseMs: -1,
      now,
    });
    expect(newItems?.payload).toEqual({ catalogueId });
    const again = await claimJob(db, { owner: 'probe', kinds: ['score'], where: isNewItemsScoreJob, leaseMs: -1, now });
    expect(again?.id).toBe(newItems?.id);
    await db
      .update(jobs)
      .set({ status: 'queued', leaseOwner: null, leaseExpiresAt: null, attempts: 0, leaseExpiries: 0 })
      .where(eq(jobs.kind, 'score'));
  });

  it('scores the new items before the re-score that was queued first ends', async () => {
    const finishedIds: number[] = [];
    const lane = createScoringLane({
      db,
      handlers: WORKER_HANDLERS,
      leaseMs: 30_000,
      pollMs: 50,
      schedule: false,
      log: (line) => {
        const id = /(?:^| )job (\d+) \(score\) done$/.exec(line)?.[1];
        if (id) finishedIds.push(Number(id));
      },
    });
    const running = lane.run();
    try {
      const end = Date.now() + 120_000;
      while (finishedIds.length < 2 && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      lane.stop();
      await running;
    }
    const finished: string[] = [];
    for (const id of finishedIds) {
      const job = (await db.select().from(jobs).where(eq(jobs.id, id)).limit(1).then(firstRow))!;
      finished.push((job.payload as { rescore?: boolean }).rescore ? 'rescore' : 'new items');
    }
    expect(finished).toEqual(['new items', 'rescore']);
    expect(await unscored()).toBe(0);
    const scoreJobs = await db.select({ status: jobs.status, progress: jobs.progress }).from(jobs).orderBy(jobs.id);
    expect(scoreJobs.map((job) => job.status)).toEqual(['succeeded', 'succeeded']);
    // The re-score predicted every item the new version had not seen (the new ones were scored by it).
    expect(scoreJobs[0]!.progress).toMatchObject({ predicted: SCORED });
  }, 300_000);
});

describe('the worker start', () => {
  it('warms the scorer up on every active model, and starts anyway when one cannot load', async () => {
    const lines: string[] = [];
    const broken = openDb(path.join(dir, 'broken.db'));
    await migrateDb(broken);
    const other = (await ensureCatalogue(broken, { slug: 'other', name: 'Other', classNames: ['a', 'b'] })).id;
    const missing = path.join(dir, 'missing-model');
    fs.mkdirSync(missing);
    fs.writeFileSync(path.join(missing, 'meta.json'), '{}');
    await broken.insert(modelVersions).values({
      catalogueId: other,
      name: 'gone',
      arch: 'cnn',
      weightsPath: missing,
      temperature: 1,
      status: 'active',
    });
    const { scorer, backend } = await prepareScoring({ db, log: (line) => lines.push(line) });
    expect(scorer.name).toBe('onnx');
    // ONNX Runtime scores, so TensorFlow.js is not started for it.
    expect(backend).toBeNull();
    expect(lines).toEqual([expect.stringMatching(/^scorer warmed up on v2 in \d+ ms$/)]);
    lines.length = 0;
    await prepareScoring({ db: broken, log: (line) => lines.push(line) });
    expect(lines).toEqual([
      expect.stringMatching(/^could not warm up the scorer on gone: ONNX Runtime worker failed: /),
    ]);
  });
});
