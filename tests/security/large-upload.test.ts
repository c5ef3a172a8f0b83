/**
 * A large valid upload (Fashion-MNIST's 60,000 training images, the most an upload may hold
 * by default is 70,000) is imported in chunks: the same process answers other requests all
 * the while, the import's progress can be read during it, and the result is complete.
 * It held the server for 12-14 s in one transaction before (issue 15).
 */
import fs from 'node:fs';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imports, items } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';
import { firstRow } from '@/db/client';

let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const { GET: listImports, POST: upload } = await import('@/app/api/v1/imports/route');
const { GET: health } = await import('@/app/api/v1/health/route');

const DATASET = '/usr/share/datasets/fashion-mnist';
const tmp = tempDir('loupe-security-large-');
let f: Fixture;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{}]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  signedIn = f.admin;
}, 60_000);
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function multipart(): Request {
  const form = new FormData();
  form.set('catalogue', 'fashion');
  form.set('create', 'true');
  form.set('name', 'Fashion');
  form.set('classes', Array.from({ length: 10 }, (_, i) => `class ${i}`).join('\n'));
  form.append(
    'file',
    new Blob([fs.readFileSync(`${DATASET}/train-images-idx3-ubyte.gz`)]),
    'train-images-idx3-ubyte.gz',
  );
  form.append(
    'labels',
    new Blob([fs.readFileSync(`${DATASET}/train-labels-idx1-ubyte.gz`)]),
    'train-labels-idx1-ubyte.gz',
  );
  return new Request('http://localhost/api/v1/imports', { method: 'POST', body: form });
}

describe('a large valid upload', () => {
  it('is imported in chunks while the server answers, with its progress readable meanwhile', async () => {
    const before = (await f.db.select({ n: count() }).from(items).limit(1).then(firstRow))!.n;
    let uploadDone = false;
    let answeredDuring = 0;
    const progress = new Set<string>();
    const pending = upload(multipart(), { params: Promise.resolve({}) }).finally(() => (uploadDone = true));
    while (!uploadDone) {
      const answer = await health();
      if (!uploadDone && answer.status < 500) answeredDuring++;
      const list = await listImports(new Request('http://localhost/api/v1/imports?unfinished=true&catalogue=fashion'), {
        params: Promise.resolve({}),
      });
      const body = (await list.json()) as { imports: { state: string; staged: number; inserted: number }[] };
      for (const running of body.imports) progress.add(running.state);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const response = await pending;
    const result = await response.json();
    expect(response.status, JSON.stringify(result)).toBe(200);
    expect(result).toMatchObject({ total: 60_000, inserted: 60_000, alreadyPresent: 0, duplicates: 0 });
    // Both phases were seen from outside, and requests were answered throughout.
    expect([...progress].sort()).toEqual(['moving', 'staging']);
    expect(answeredDuring).toBeGreaterThan(10);
    expect((await f.db.select({ n: count() }).from(items).limit(1).then(firstRow))!.n).toBe(before + 60_000);
    expect(
      await f.db.select().from(imports).where(eq(imports.id, result.importId)).limit(1).then(firstRow),
    ).toMatchObject({
      state: 'done',
      insertedCount: 60_000,
    });
  }, 120_000);

  it('the progress list refuses a bad query with a sentence', async () => {
    const response = await listImports(new Request('http://localhost/api/v1/imports?limit=0'), {
      params: Promise.resolve({}),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/limit is 1 or more/);
  });
});
