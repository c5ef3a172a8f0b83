import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, jobs } from '@/db/schema';
import { readIdxSplit } from '@/lib/formats/idx';
import { ensureCatalogue, importItems } from '@/lib/import';
import { enqueueJob } from '@/lib/jobs/lifecycle';
import { TrainJobPayload } from '@/lib/jobs/payloads';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { combineWorkers, createScoringLane } from '@/lib/worker/scoring-lane';
import { createWorker } from '@/lib/worker/worker-loop';

/*
 * Scoring never waits behind a training: while the main loop holds a train job, items
 * imported meanwhile are scored by the scoring lane. The train job here is a stand-in that
 * holds the main loop until the test lets it go; everything else (database, model, scoring)
 * is real.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-scoring-lane-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let db: Db;
let catalogueId: number;
beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  const modelDir = path.join(dir, 'model');
  await saveUntrainedModel(modelDir, { arch: 'lenet5', classNames: [...FASHION_MNIST_CLASSES], seed: 2 });
  db = openDb(path.join(dir, 'lane.db'));
  await migrateDb(db);
  catalogueId = (await ensureCatalogue(db, { slug: 'demo', name: 'Demo', classNames: [...FASHION_MNIST_CLASSES] })).id;
  await registerInitialModel(db, { catalogueId, name: 'm1', dir: modelDir, meta: readModelMeta(modelDir) });
});

const unscored = async () =>
  (await db
    .select({ n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), eq(items.status, 'unscored')))
    .limit(1)
    .then(firstRow))!.n;

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe('the scoring lane', () => {
  it('scores items imported while the main loop is training', async () => {
    let trainStarted = false;
    let finishTraining = () => {};
    const training = new Promise<void>((resolve) => (finishTraining = resolve));
    const handlers = {
      ...WORKER_HANDLERS,
      train: async () => {
        trainStarted = true;
        await training;
        return { phase: 'done' as const, message: 'stand-in' };
      },
    };
    const log = () => {};
    const main = createWorker({ db, handlers, leaseMs: 30_000, pollMs: 100, schedule: false, log });
    const lane = createScoringLane({ db, handlers, leaseMs: 30_000, pollMs: 100, log });
    const worker = combineWorkers(main, lane);
    const train = (
      await enqueueJob(db, {
        kind: 'train',
        payload: TrainJobPayload.parse({ catalogueId, reason: 'manual' }),
      })
    ).job;
    const running = worker.run();
    try {
      expect(await until(() => trainStarted, 10_000)).toBe(true);
      const { images } = readIdxSplit(path.resolve('datasets/fashion-mnist'), 't10k');
      await importItems(db, {
        catalogueSlug: 'demo',
        kind: 'idx',
        source: 'during-training',
        items: Array.from({ length: 2000 }, (_, i) => ({
          pixels: images.pixels.subarray(i * 784, (i + 1) * 784),
          label: null,
          sourceRow: i,
        })),
      });
      expect(await unscored()).toBe(2000);
      expect(await until(async () => (await unscored()) === 0, 60_000)).toBe(true);
      // Scored by the lane: the main loop is still in the training.
      expect(worker.current()?.id).toBe(train.id);
      expect((await db.select().from(jobs).where(eq(jobs.id, train.id)).limit(1).then(firstRow))!.status).toBe(
        'running',
      );
      const scoreJobs = await db.select().from(jobs).where(eq(jobs.kind, 'score'));
      expect(scoreJobs.map((job) => job.status)).toEqual(['succeeded']);
    } finally {
      finishTraining();
      worker.stop();
      await running;
    }
    expect((await db.select().from(jobs).where(eq(jobs.id, train.id)).limit(1).then(firstRow))!.status).toBe(
      'succeeded',
    );
  });

  it('has nothing to claim when the handlers have no score job', () => {
    const lane = createScoringLane({ db, handlers: {}, leaseMs: 30_000, pollMs: 100, schedule: false });
    return expect(lane.tick()).resolves.toBe('idle');
  });
});
