import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { items } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';
import { instantiate, loadHandlers, walkApiRoutes } from './routes';

// Holdout and gold labels are trusted data: a reviewer must not reach them through any
// catalogue route, whatever the query says. The real route handlers on a migrated database;
// only the session lookup is the test's.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const routes = walkApiRoutes();
const tmp = tempDir('loupe-security-eval-');
let f: Fixture;
let holdoutId: number;
let goldId: number;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [
    { predictedClass: 1, confidence: 0.3 },
    { predictedClass: 2, confidence: 0.95, status: 'auto_accepted' },
    { predictedClass: 3, confidence: 0.5 },
    { predictedClass: 1, confidence: 0.8, status: 'auto_accepted' },
  ]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  [holdoutId, goldId] = [f.itemIds[2]!, f.itemIds[3]!];
  await f.db
    .update(items)
    .set({ evalRole: 'holdout', currentLabel: 3, labelSource: 'import' })
    .where(eq(items.id, holdoutId));
  await f.db
    .update(items)
    .set({ evalRole: 'gold', currentLabel: 1, labelSource: 'import' })
    .where(eq(items.id, goldId));
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

async function get(pattern: string, actor: Actor, values: Record<string, string>, query = ''): Promise<Response> {
  const route = routes.find((r) => r.pattern === pattern)!;
  const handler = (await loadHandlers(route)).GET!;
  const { url, params } = instantiate(route, { slug: 'demo', ...values });
  signedIn = actor;
  return handler(new Request(`${url}${query}`), { params: Promise.resolve(params) });
}

describe('evaluation items and reviewers', () => {
  it('the items route lists no holdout or gold item to a reviewer, whatever the filter', async () => {
    for (const query of [
      '',
      '?evalRole=holdout',
      '?evalRole=gold',
      '?sort=confidence&dir=desc',
      '?minConfidence=0.4',
    ]) {
      const body = await (await get('/api/v1/catalogues/[slug]/items', f.reviewer, {}, query)).json();
      const ids = body.rows.map((row: { id: number }) => row.id);
      expect(ids, query).not.toContain(holdoutId);
      expect(ids, query).not.toContain(goldId);
      expect(body.scope, query).toEqual({ evaluationShown: false, holdout: 1, gold: null });
    }
    const ops = await (await get('/api/v1/catalogues/[slug]/items', f.ops, {}, '?evalRole=holdout')).json();
    expect(ops.rows.map((row: { id: number }) => row.id)).toEqual([holdoutId]);
  });

  it('the item route answers 404 to a reviewer for a holdout or gold item, and 200 to ops', async () => {
    for (const id of [holdoutId, goldId]) {
      const refused = await get('/api/v1/items/[id]', f.reviewer, { id: String(id) });
      expect(refused.status).toBe(404);
      const text = await refused.text();
      expect(text).not.toMatch(/currentLabel|evalRole/);
      expect((await get('/api/v1/items/[id]', f.ops, { id: String(id) })).status).toBe(200);
    }
    expect((await get('/api/v1/items/[id]', f.reviewer, { id: String(f.itemIds[0]) })).status).toBe(200);
  });
});

describe('the filtered export route', () => {
  it('applies the filter and ignores parameters that are not the query (chunk size, clock)', async () => {
    const response = await get(
      '/api/v1/catalogues/[slug]/export',
      f.ops,
      {},
      '?format=csv&status=auto_accepted&chunkRows=abc&now=yesterday',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/demo-labels-filtered-/);
    const lines = (await response.text()).trim().split('\r\n');
    expect(lines.slice(1).map((line) => Number(line.split(',')[0]))).toEqual([f.itemIds[1], goldId]);
  });

  it('refuses a bad filter with a sentence, and a reviewer before reading the filter', async () => {
    const bad = await get('/api/v1/catalogues/[slug]/export', f.ops, {}, '?minConfidence=2');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/^minConfidence: a confidence is between 0 and 1/);
    const reviewer = await get('/api/v1/catalogues/[slug]/export', f.reviewer, {}, '?minConfidence=2');
    expect(reviewer.status).toBe(403);
  });
});
