import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, jobs, labResults, labRuns, modelVersions } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { readIdxSplit } from '@/lib/formats/idx';
import { ensureCatalogue, importItems } from '@/lib/import';
import { executeLabRun } from '@/lib/lab/lab-jobs';
import {
  describeLabRunSettings,
  LabRunSettings,
  listLabCatalogues,
  listLabRuns,
  readLabRun,
  requestLabCandidate,
  startLabRun,
} from '@/lib/lab/lab-runs';
import { registerLabCandidate } from '@/lib/lab/register-candidate';
import { bundledDatasetDir } from '@/lib/learning/demo-data';
import { initBackend } from '@/lib/ml/backend';
import { readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';
import { expectAppError, tempDir } from '../review/fixtures';

/**
 * A catalogue of real Fashion-MNIST images under other class names (so its training pool is its
 * own import-labelled items): 900 labelled at import, 300 holdout, 300 labelled by people; an
 * untrained mlp is its active model. One user per role.
 */
const CLASSES = Array.from({ length: 10 }, (_, i) => `c${i}`);
const tmp = tempDir('loupe-lab-runs-');
let db: Db;
let catalogueId: number;
let modelsDir: string;
const actors = {} as Record<'reviewer' | 'admin' | 'ops', Actor>;

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  db = openDb(path.join(tmp.dir, 'lab.db'));
  await migrateDb(db);
  modelsDir = path.join(tmp.dir, 'models');
  const catalogue = await ensureCatalogue(db, { slug: 'fm', name: 'FM', classNames: CLASSES });
  catalogueId = catalogue.id;
  const { images, labels } = readIdxSplit(bundledDatasetDir(), 't10k');
  const rows = (from: number, to: number, labelled: boolean) =>
    Array.from({ length: to - from }, (_, i) => ({
      pixels: images.pixels.subarray((from + i) * 784, (from + i + 1) * 784),
      label: labelled ? labels[from + i]! : null,
      sourceRow: from + i,
    }));
  await importItems(db, { catalogueSlug: 'fm', kind: 'idx', source: 'pool', items: rows(0, 900, true) });
  await importItems(db, {
    catalogueSlug: 'fm',
    kind: 'idx',
    source: 'holdout',
    evalRole: 'holdout',
    items: rows(900, 1200, true),
  });
  await importItems(db, { catalogueSlug: 'fm', kind: 'idx', source: 'reviewed', items: rows(1200, 1500, false) });
  for (const item of await db.select().from(items).where(eq(items.sourceRow, items.sourceRow))) {
    if (item.sourceRow >= 1200 && item.importLabel === null)
      await db
        .update(items)
        .set({ currentLabel: labels[item.sourceRow]!, labelSource: 'human', status: 'reviewed' })
        .where(eq(items.id, item.id));
  }
  const untrained = path.join(tmp.dir, 'untrained');
  await saveUntrainedModel(untrained, { arch: 'mlp', classNames: CLASSES, seed: 5 });
  await registerInitialModel(db, { catalogueId, name: 'base', dir: untrained, meta: readModelMeta(untrained) });
  for (const role of ['reviewer', 'admin', 'ops'] as const) {
    const user = await createUserAsSystem(db, {
      email: `${role}@lab.test`,
      name: role,
      password: 'correct horse battery',
      role,
      passwordCost: 4,
    });
    actors[role] = { userId: user.id, role: user.role, email: user.email };
  }
});
afterAll(() => tmp.cleanup());

const small = { epochs: 4, trainSize: 800, testSize: 200, trees: 10, seed: 3, schedule: 'cosine' as const };

describe('starting a lab run', () => {
  it('refuses reviewers, ops and signed-out callers, and writes nothing', async () => {
    const run = { catalogue: 'fm', archs: ['logreg'], settings: small };
    await expectAppError(async () => await startLabRun(db, { actor: actors.reviewer, run }), 'forbidden');
    await expectAppError(async () => await startLabRun(db, { actor: actors.ops, run }), 'forbidden');
    await expectAppError(async () => await startLabRun(db, { actor: null, run }), 'unauthorized');
    expect(await db.select().from(labRuns)).toEqual([]);
    expect(await db.select().from(jobs).where(eq(jobs.kind, 'lab'))).toEqual([]);
  });

  it('refuses unknown architectures, catalogues and out-of-range settings with a sentence', async () => {
    const admin = actors.admin;
    await expectAppError(
      async () => await startLabRun(db, { actor: admin, run: { catalogue: 'fm', archs: ['resnet'] } }),
      'bad_input',
      /archs\.0: must be one of logreg, forest/,
    );
    await expectAppError(
      async () => await startLabRun(db, { actor: admin, run: { catalogue: 'fm', archs: [] } }),
      'bad_input',
    );
    await expectAppError(
      async () =>
        await startLabRun(db, { actor: admin, run: { catalogue: 'fm', archs: ['mlp'], settings: { epochs: 500 } } }),
      'bad_input',
      /settings\.epochs: must be a whole number from 1 to 50/,
    );
    await expectAppError(
      async () =>
        await startLabRun(db, {
          actor: admin,
          run: { catalogue: 'fm', archs: ['mlp'], settings: { schedule: 'linear' as 'cosine' } },
        }),
      'bad_input',
      /settings\.schedule: must be one of plateau, cosine/,
    );
    await expectAppError(
      async () => await startLabRun(db, { actor: admin, run: { catalogue: 'nope', archs: ['mlp'] } }),
      'not_found',
    );
    expect(await db.select().from(labRuns)).toEqual([]);
  });
});

describe('a lab run end to end', () => {
  let runId: number;

  it('an admin starts one: the run and its lab job commit together; a second waits its turn', async () => {
    const { run, job } = await startLabRun(db, {
      actor: actors.admin,
      run: { catalogue: 'fm', archs: ['logreg', 'forest', 'mlp'], settings: small },
    });
    runId = run.id;
    expect(run).toMatchObject({ jobId: job.id, archs: ['logreg', 'forest', 'mlp'], requestedBy: actors.admin.userId });
    expect(job).toMatchObject({
      kind: 'lab',
      status: 'queued',
      payload: { action: 'run', labRunId: run.id, catalogueId },
    });
    await expectAppError(
      async () => await startLabRun(db, { actor: actors.admin, run: { catalogue: 'fm', archs: ['mlp'] } }),
      'conflict',
      /already waiting \(job \d+\)/,
    );
  });

  it('the worker trains each architecture on the pool and measures it on the holdout', async () => {
    const result = await executeLabRun(db, { labRunId: runId, modelsDir });
    expect(result.results).toBe(3);
    const run = (await db.select().from(labRuns).where(eq(labRuns.id, runId)).limit(1).then(firstRow))!;
    // What the worker does with the job when the handler returns.
    await db.update(jobs).set({ status: 'succeeded' }).where(eq(jobs.id, run.jobId!));
    expect(run.testItemIds).toHaveLength(200);
    // A class-balanced sample of up to 800 pool images, a tenth of them for validation.
    expect(run.trainCount).toBeGreaterThan(700);
    expect(run.trainCount).toBeLessThanOrEqual(720);
    const holdoutIds = new Set(
      (await db.select({ id: items.id }).from(items).where(eq(items.evalRole, 'holdout'))).map((r) => r.id),
    );
    expect(run.testItemIds!.every((id) => holdoutIds.has(id))).toBe(true);
    expect(run.finishedAt).not.toBeNull();
    const rows = await db.select().from(labResults).where(eq(labResults.runId, runId)).orderBy(labResults.id);
    expect(rows.map((r) => r.arch)).toEqual(['logreg', 'forest', 'mlp']);
    for (const row of rows) {
      expect(row.accuracy).toBeGreaterThan(0.4); // four times chance, after a few steps on 717 images
      expect(row.predicted).toHaveLength(200);
      expect((row.report as { confusion: number[][] }).confusion.flat().reduce((a, b) => a + b, 0)).toBe(200);
    }
    expect(rows.find((r) => r.arch === 'mlp')!.modelDir).toBe(path.join(modelsDir, 'fm', 'lab', `run-${runId}-mlp`));
    expect(rows.filter((r) => r.modelDir === null).map((r) => r.arch)).toEqual(['logreg', 'forest']);
    // The run's schedule reached the training: the saved mlp says so.
    expect(readModelMeta(rows.find((r) => r.arch === 'mlp')!.modelDir!).schedule).toBe('cosine');
    expect(
      describeLabRunSettings(LabRunSettings.parse(run.settings), run.archs, { train: run.trainCount, test: 200 }),
    ).toBe(
      `${run.trainCount} training images · 200 holdout items · 4 epochs · cosine learning rate · 10 trees · augmentation off · seed 3`,
    );
    expect(describeLabRunSettings(LabRunSettings.parse({ epochs: 1 }), ['logreg'])).toBe(
      '5,000 training images asked · 2,000 holdout items asked · augmentation off · seed 42',
    );
  });

  it('ops and admins read runs and results; reviewers cannot', async () => {
    for (const actor of [actors.ops, actors.admin]) {
      expect((await listLabRuns(db, { actor, catalogue: 'fm' }))[0]).toMatchObject({ run: { id: runId }, results: 3 });
      const detail = await readLabRun(db, { actor, runId });
      expect(detail.rows.map((r) => r.arch)).toEqual(['logreg', 'forest', 'mlp']);
      expect(detail.catalogue.classNames).toEqual(CLASSES);
      expect(await listLabCatalogues(db, { actor })).toEqual([
        { id: catalogueId, slug: 'fm', name: 'FM', holdout: 300 },
      ]);
    }
    await expectAppError(async () => await listLabRuns(db, { actor: actors.reviewer, catalogue: 'fm' }), 'forbidden');
    await expectAppError(async () => await readLabRun(db, { actor: actors.reviewer, runId }), 'forbidden');
    await expectAppError(async () => await listLabCatalogues(db, { actor: null }), 'unauthorized');
    await expectAppError(async () => await readLabRun(db, { actor: actors.ops, runId: 999 }), 'not_found');
  });

  it('registering: only admins, only a servable model, one gate job at a time', async () => {
    const rows = await db.select().from(labResults).where(eq(labResults.runId, runId));
    const mlp = rows.find((r) => r.arch === 'mlp')!;
    const logreg = rows.find((r) => r.arch === 'logreg')!;
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.ops, labResultId: mlp.id }),
      'forbidden',
    );
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.reviewer, labResultId: mlp.id }),
      'forbidden',
    );
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.admin, labResultId: logreg.id }),
      'bad_input',
      /logreg lab model cannot be served/,
    );
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.admin, labResultId: 9999 }),
      'not_found',
    );
    const { job } = await requestLabCandidate(db, { actor: actors.admin, labResultId: mlp.id });
    expect(job.payload).toEqual({
      action: 'register',
      catalogueId,
      labResultId: mlp.id,
      requestedBy: actors.admin.userId,
    });
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.admin, labResultId: mlp.id }),
      'conflict',
    );
    expect((await readLabRun(db, { actor: actors.ops, runId })).registering).toEqual({ [mlp.id]: job.id });
    await db.update(jobs).set({ status: 'succeeded' }).where(eq(jobs.id, job.id));
  });

  it('the evaluation gate promotes a lab mlp that beats the untrained active model, and records why', async () => {
    const mlp = (await db.select().from(labResults).where(eq(labResults.arch, 'mlp')).limit(1).then(firstRow))!;
    const result = await registerLabCandidate(db, { labResultId: mlp.id });
    expect(result.promoted).toBe(true);
    expect(result.decision.reason).toMatch(/^Promoted: held-out human labels [\d.]+% -> [\d.]+%/);
    const version = (await db
      .select()
      .from(modelVersions)
      .where(eq(modelVersions.id, result.version.id))
      .limit(1)
      .then(firstRow))!;
    expect(version).toMatchObject({
      status: 'active',
      arch: 'mlp',
      name: `lab-${runId}-mlp`,
      weightsPath: mlp.modelDir,
    });
    expect(version.metrics).toMatchObject({ kind: 'lab', labRunId: runId, holdout: { total: 300 } });
    expect(
      (await db.select().from(modelVersions).where(eq(modelVersions.name, 'base')).limit(1).then(firstRow))!.status,
    ).toBe('retired');
    expect(
      (await db.select().from(labResults).where(eq(labResults.id, mlp.id)).limit(1).then(firstRow))!.modelVersionId,
    ).toBe(version.id);
    const rescore = await db.select().from(jobs).where(eq(jobs.kind, 'score'));
    expect(rescore.some((j) => (j.payload as { rescore?: boolean }).rescore === true)).toBe(true);
    await expectAppError(() => registerLabCandidate(db, { labResultId: mlp.id }), 'bad_input', /already a version/);
    await expectAppError(
      async () => await requestLabCandidate(db, { actor: actors.admin, labResultId: mlp.id }),
      'conflict',
    );
  });

  it('the same gate rejects a lab model that is worse than the active one', async () => {
    const { run } = await startLabRun(db, {
      actor: actors.admin,
      run: { catalogue: 'fm', archs: ['mlp'], settings: { ...small, epochs: 1, trainSize: 200, seed: 8 } },
    });
    await executeLabRun(db, { labRunId: run.id, modelsDir });
    const weak = (await db.select().from(labResults).where(eq(labResults.runId, run.id)).limit(1).then(firstRow))!;
    const result = await registerLabCandidate(db, { labResultId: weak.id });
    expect(result.promoted).toBe(false);
    expect(result.decision.reason).toMatch(/^Rejected: /);
    expect(result.version.status).toBe('rejected');
  });
});
