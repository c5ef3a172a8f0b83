import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { ensureCatalogue, importItems } from '@/lib/import';
import { enqueueJob, findJob } from '@/lib/jobs/lifecycle';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { scheduleJobs } from '@/lib/worker/schedule-jobs';
import { createWorker } from '@/lib/worker/worker-loop';
import { tempDir } from '../review/fixtures';

// A catalogue without an active model (the Import page creates one) is a normal state for the
// worker: nothing is scheduled for it, and a job that names it anyway ends at once instead of
// failing, retrying and being queued again.

const tmp = tempDir('loupe-model-less-');
afterAll(tmp.cleanup);

async function setup() {
  const db = openDb(path.join(tmp.dir, `${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  const catalogue = await ensureCatalogue(db, { slug: 'new', name: 'New', classNames: ['a', 'b'] });
  await importItems(db, {
    catalogueSlug: 'new',
    kind: 'idx',
    source: 'test',
    items: [{ pixels: new Uint8Array(784), label: null, sourceRow: 0 }],
  });
  const logs: string[] = [];
  const worker = createWorker({
    db,
    handlers: WORKER_HANDLERS,
    leaseMs: 30_000,
    pollMs: 20,
    log: (line) => logs.push(line),
  });
  return { db, catalogueId: catalogue.id, worker, logs };
}

describe('the worker and a catalogue without a model', () => {
  it('schedules nothing for it, turn after turn', async () => {
    const { db, worker } = await setup();
    expect(await scheduleJobs(db)).toEqual([]);
    for (let turn = 0; turn < 3; turn++) expect(await worker.tick()).toBe('idle');
  });

  it('a score job for it succeeds as skipped; a train job fails at once with what to do', async () => {
    const { db, catalogueId, worker, logs } = await setup();
    const score = (await enqueueJob(db, { kind: 'score', payload: { catalogueId } })).job;
    const rescore = (await enqueueJob(db, { kind: 'score', payload: { catalogueId, rescore: true } })).job;
    const train = (await enqueueJob(db, { kind: 'train', payload: { catalogueId, reason: 'manual' }, maxAttempts: 2 }))
      .job;
    expect(await worker.tick()).toBe('succeeded');
    expect(await worker.tick()).toBe('succeeded');
    expect(await worker.tick()).toBe('failed');
    expect(await worker.tick()).toBe('idle');
    for (const job of [score, rescore])
      expect(await findJob(db, job.id)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        progress: { skipped: true },
      });
    expect(await findJob(db, train.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'The catalogue has no active model to fine-tune; register a model first.',
    });
    expect(logs.filter((line) => line.includes('will retry'))).toEqual([]);
  });
});
