import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues, items } from '@/db/schema';
import { createUserAsSystem } from '@/lib/auth/users';
import type { Actor } from '@/lib/auth/permissions';
import { ensureCatalogue, importItems } from '@/lib/import';
import { importUpload } from '@/lib/import/upload';
import { initBackend } from '@/lib/ml/backend';
import { readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { findActiveModel, registerInitialModel } from '@/lib/models/active';
import { tempDir } from '../review/fixtures';
import { databaseEnv } from '../../test-database';

// `npm start` (through `npm run seed`, the same prepareDatabase) and `npm run score` on a
// database holding a catalogue without a model, as the Import page's "create a catalogue"
// makes one: both must succeed, start after start, and still score the catalogue that has one.

const root = path.resolve(import.meta.dirname, '../../..');
const tmp = tempDir('loupe-prepare-');
afterAll(tmp.cleanup);
const dbPath = path.join(tmp.dir, 'loupe.db');
const modelDir = path.join(tmp.dir, 'model');
const CLASSES = ['a', 'b', 'c'];

/** An IDX images file of `count` 28x28 images, as a person would upload one. */
function idxImages(count: number): Uint8Array {
  const bytes = new Uint8Array(16 + 784 * count);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x803);
  view.setUint32(4, count);
  view.setUint32(8, 28);
  view.setUint32(12, 28);
  for (let i = 16; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
  return bytes;
}

function run(script: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...databaseEnv(dbPath), LOUPE_TF_BACKEND: 'wasm', LOUPE_DEBUG: '', NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let db: Db;

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(modelDir, { arch: 'lenet5', classNames: CLASSES, seed: 1 });
  db = openDb(dbPath);
  await migrateDb(db);
  // A catalogue with a model and 4 unscored items, so the database is not empty (no demo seed).
  const scored = await ensureCatalogue(db, { slug: 'with-model', name: 'With a model', classNames: CLASSES });
  await importItems(db, {
    catalogueSlug: scored.slug,
    kind: 'idx',
    source: 'test',
    items: Array.from({ length: 4 }, (_, i) => ({
      pixels: new Uint8Array(784).fill(i * 40),
      label: null,
      sourceRow: i,
    })),
  });
  await registerInitialModel(db, {
    catalogueId: scored.id,
    name: 'untrained',
    dir: modelDir,
    meta: readModelMeta(modelDir),
  });
  // The Import page's path: an admin uploads a file into a new catalogue.
  const user = await createUserAsSystem(db, {
    email: 'admin@prepare.test',
    name: 'Admin',
    role: 'admin',
    password: 'correct horse battery',
    passwordCost: 4,
  });
  const admin: Actor = { userId: user.id, role: user.role, email: user.email };
  const upload = await importUpload(db, {
    actor: admin,
    catalogue: 'no-model',
    create: { name: 'No model yet', classNames: CLASSES },
    files: [{ name: 'new-images-idx3-ubyte', bytes: idxImages(3) }],
  });
  expect(upload).toMatchObject({ created: true, inserted: 3 });
  // An empty model-less catalogue too: the case that only deleting the row used to fix.
  await ensureCatalogue(db, { slug: 'empty', name: 'Empty', classNames: CLASSES });
});

async function statuses(slug: string): Promise<string[]> {
  return (
    await db
      .select({ status: items.status })
      .from(items)
      .innerJoin(catalogues, eq(catalogues.id, items.catalogueId))
      .where(eq(catalogues.slug, slug))
  ).map((row) => row.status);
}

describe('a catalogue without a model', () => {
  it('does not stop npm start’s preparation, on the first start or any later one', async () => {
    expect(
      await findActiveModel(
        db,
        (await db.select().from(catalogues).where(eq(catalogues.slug, 'no-model')).limit(1).then(firstRow))!.id,
      ),
    ).toBe(null);
    for (const start of [1, 2]) {
      const { status, stdout, stderr } = run('scripts/seed.ts');
      expect({ start, status, stderr: stderr.split('\n').filter((l) => l.startsWith('error')) }).toEqual({
        start,
        status: 0,
        stderr: [],
      });
      expect(stdout).toContain('no-model: not scored, no active model yet');
      expect(stdout).toContain('(3 unscored items)');
      expect(stdout).toContain('empty: not scored');
      expect(stdout).not.toContain('seeded the demo catalogue');
    }
    // The catalogue with a model was scored; the one without waits.
    expect((await statuses('with-model')).filter((s) => s === 'unscored')).toEqual([]);
    expect(await statuses('no-model')).toEqual(['unscored', 'unscored', 'unscored']);
  });

  it('npm run score reports it as skipped and scores the others', () => {
    const { status, stdout } = run('scripts/score.ts');
    expect(status).toBe(0);
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ catalogue: 'no-model', skipped: true, unscored: 3 }));
    expect(lines).toContainEqual(expect.objectContaining({ catalogue: 'with-model', scored: 0 }));
  });

  it('npm run register-model gives it its first model, which the next start scores with; refuses a second or a mismatch', async () => {
    await ensureCatalogue(db, { slug: 'binary', name: 'Binary', classNames: ['yes', 'no'] });
    const mismatch = run('scripts/register-model.ts', ['--catalogue', 'binary', '--model', modelDir]);
    expect(mismatch.status).toBe(1);
    expect(mismatch.stderr).toContain('has 3 classes; catalogue "binary" has 2 (yes, no)');

    const registered = run('scripts/register-model.ts', [
      '--catalogue',
      'no-model',
      '--model',
      modelDir,
      '--name',
      'first',
    ]);
    expect(registered.status, registered.stderr).toBe(0);
    expect(JSON.parse(registered.stdout)).toMatchObject({
      catalogue: 'no-model',
      model: { name: 'first', status: 'active' },
    });
    const again = run('scripts/register-model.ts', ['--catalogue', 'no-model', '--model', modelDir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already has an active model (first)');
    expect(run('scripts/register-model.ts', ['--catalogue', 'no-model']).stderr).toContain('--model:');

    const { status, stdout } = run('scripts/seed.ts');
    expect(status).toBe(0);
    expect(stdout).not.toContain('no-model: not scored');
    expect((await statuses('no-model')).filter((s) => s === 'unscored')).toEqual([]);
  });
});
