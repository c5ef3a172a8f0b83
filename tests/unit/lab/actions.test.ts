import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobs, labResults, labRuns } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow, onlyRow } from '@/db/client';

// The actions ask next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
vi.mock('next/cache', () => ({ revalidatePath: () => {} }));

const { registerLabModelAction, startLabRunAction } = await import('@/app/lab/actions');

const tmp = tempDir('loupe-lab-actions-');
let f: Fixture;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{}, {}, {}]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function startForm(fields: Record<string, string | string[]>): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields))
    for (const v of Array.isArray(value) ? value : [value]) data.append(key, v);
  return data;
}

describe('lab server actions', () => {
  it('refuse reviewers, ops and signed-out callers, and write nothing', async () => {
    for (const [actor, code] of [
      [f.reviewer, 'forbidden'],
      [f.ops, 'forbidden'],
      [null, 'unauthorized'],
    ] as const) {
      signedIn = actor;
      expect(await startLabRunAction(null, startForm({ catalogue: 'demo', archs: ['logreg'] }))).toMatchObject({
        ok: false,
        code,
      });
      expect(await registerLabModelAction(null, startForm({ labResultId: '1' }))).toMatchObject({ ok: false, code });
    }
    expect(await f.db.select().from(labRuns)).toEqual([]);
    expect(await f.db.select().from(jobs).where(eq(jobs.kind, 'lab'))).toEqual([]);
  });

  it('start a run for an admin, empty numbers taking the defaults, and explain a bad field', async () => {
    signedIn = f.admin;
    const bad = await startLabRunAction(null, startForm({ catalogue: 'demo', archs: ['logreg'], epochs: 'many' }));
    expect(bad).toMatchObject({ ok: false, code: 'bad_input' });
    expect(bad.ok ? '' : bad.message).toMatch(/settings\.epochs/);
    const none = await startLabRunAction(null, startForm({ catalogue: 'demo' }));
    expect(none).toMatchObject({ ok: false, code: 'bad_input', message: 'archs: pick at least one architecture' });

    const result = await startLabRunAction(
      null,
      startForm({ catalogue: 'demo', archs: ['logreg', 'mlp'], epochs: '3', trainSize: '', augment: 'on' }),
    );
    expect(result).toMatchObject({ ok: true, data: { catalogue: 'demo' } });
    const run = (await f.db.select().from(labRuns).limit(1).then(firstRow))!;
    expect(run.archs).toEqual(['logreg', 'mlp']);
    expect(run.settings).toMatchObject({ epochs: 3, trainSize: 5000, augment: true });
  });

  it('register asks the lib for a servable result, and says why not', async () => {
    signedIn = f.admin;
    const run = (await f.db.select().from(labRuns).limit(1).then(firstRow))!;
    await f.db.update(jobs).set({ status: 'succeeded' }).where(eq(jobs.id, run.jobId!));
    const row = await f.db
      .insert(labResults)
      .values({
        runId: run.id,
        arch: 'logreg',
        accuracy: 0.8,
        macroF1: 0.8,
        ece: 0.01,
        params: 7850,
        trainSeconds: 1,
        imagesPerSecond: 1000,
        coverageAt1PctError: 0.2,
        report: {},
        predicted: [],
        confidence: [],
      })
      .returning()
      .then(onlyRow);
    expect(await registerLabModelAction(null, startForm({ labResultId: String(row.id) }))).toMatchObject({
      ok: false,
      code: 'bad_input',
    });
    expect(await registerLabModelAction(null, startForm({ labResultId: 'x' }))).toMatchObject({
      ok: false,
      code: 'bad_input',
    });
  });
});
