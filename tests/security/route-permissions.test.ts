import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imports } from '@/db/schema';
import { can, type Actor, type Permission } from '@/lib/auth/permissions';
import { FIGURE_IDS } from '@/lib/dashboards';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';
import { instantiate, loadHandlers, walkApiRoutes, type Method } from './routes';
import { firstRow } from '@/db/client';

// Who is signed in is the test's choice; everything after the session lookup is the real
// route handler on a real, migrated SQLite database.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

type Access = Permission | 'public' | 'next-auth';

/**
 * Every API route and method, with who may call it. Written out by hand and compared with the
 * route tree: a new route.ts (or a new method in one) without an entry here fails the suite,
 * so nobody adds an endpoint without saying who may use it.
 */
const EXPECTED: Record<string, Partial<Record<Method, Access>>> = {
  '/api/auth/[...nextauth]': { GET: 'next-auth', POST: 'next-auth' },
  '/api/v1/catalogues/[slug]/class-keys': { GET: 'items.review', PUT: 'settings.write' },
  '/api/v1/catalogues/[slug]/dashboards/[figure]': { GET: 'dashboards.read' },
  '/api/v1/catalogues/[slug]/export': { GET: 'export.read' },
  '/api/v1/catalogues/[slug]/items': { GET: 'catalogue.read' },
  '/api/v1/catalogues/[slug]/models': { GET: 'dashboards.read' },
  '/api/v1/catalogues/[slug]/threshold': { PUT: 'settings.write' },
  '/api/v1/catalogues/[slug]/train': { POST: 'models.manage' },
  '/api/v1/health': { GET: 'public' },
  '/api/v1/imports': { GET: 'catalogue.import', POST: 'catalogue.import' },
  '/api/v1/imports/[id]': { GET: 'catalogue.read' },
  '/api/v1/items/[id]': { GET: 'catalogue.read' },
  '/api/v1/items/[id]/image': { GET: 'catalogue.read' },
  '/api/v1/jobs': { GET: 'models.manage' },
  '/api/v1/me/stats': { GET: 'items.review' },
  '/api/v1/models/[id]/download': { GET: 'dashboards.read' },
  '/api/v1/models/[id]/promote': { POST: 'models.manage' },
  '/api/v1/queue/claim': { POST: 'items.review' },
  '/api/v1/queue/claim-batch': { POST: 'items.review' },
  '/api/v1/queue/heartbeat': { POST: 'items.review' },
  '/api/v1/queue/progress': { GET: 'items.review' },
  '/api/v1/queue/release': { POST: 'items.review' },
  '/api/v1/reviews': { POST: 'items.review' },
  '/api/v1/reviews/grid': { POST: 'items.review' },
  '/api/v1/reviews/grid/undo': { POST: 'items.review' },
  '/api/v1/reviews/undo': { POST: 'items.review' },
};

const routes = walkApiRoutes();
const tmp = tempDir('loupe-security-routes-');
let f: Fixture;
let importId: number;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{}, {}, {}]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  importId = (await f.db.select({ id: imports.id }).from(imports).limit(1).then(firstRow))!.id;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

async function call(pattern: string, method: Method, actor: Actor | null): Promise<Response> {
  const route = routes.find((r) => r.pattern === pattern)!;
  const handler = (await loadHandlers(route))[method]!;
  const { url, params } = instantiate(route, {
    slug: 'demo',
    id: pattern.startsWith('/api/v1/imports')
      ? String(importId)
      : pattern.includes('models')
        ? '1'
        : String(f.itemIds[0]),
    figure: FIGURE_IDS[0]!,
  });
  const mutating = method !== 'GET' && method !== 'HEAD';
  signedIn = actor;
  return handler(
    new Request(url, {
      method,
      headers: mutating ? { 'content-type': 'application/json' } : {},
      body: mutating ? '{}' : undefined,
    }),
    { params: Promise.resolve(params) },
  );
}

describe('the route table', () => {
  it('has exactly one entry per route.ts and per exported method', async () => {
    const found: Record<string, Method[]> = {};
    for (const route of routes) found[route.pattern] = Object.keys(await loadHandlers(route)) as Method[];
    const listed = Object.fromEntries(Object.entries(EXPECTED).map(([p, methods]) => [p, Object.keys(methods)]));
    expect(found, 'a route without an entry in EXPECTED (or an entry without a route): say who may call it').toEqual(
      listed,
    );
  });
});

describe('every route x role', () => {
  const cases = Object.entries(EXPECTED).flatMap(([pattern, methods]) =>
    Object.entries(methods)
      .filter(([, access]) => access !== 'next-auth')
      .map(([method, access]) => ({ pattern, method: method as Method, access: access as Access })),
  );

  it.each(cases)('$method $pattern ($access)', async ({ pattern, method, access }) => {
    for (const actor of [f.reviewer, f.admin, f.ops, null]) {
      const response = await call(pattern, method, actor);
      const who = actor?.role ?? 'signed out';
      if (access === 'public') {
        expect([401, 403], `${who} on a public route`).not.toContain(response.status);
      } else if (actor === null) {
        expect(response.status, who).toBe(401);
      } else if (can(actor.role, access as Permission)) {
        expect([401, 403], `${who} holds ${access}: ${await response.clone().text()}`).not.toContain(response.status);
      } else {
        expect(response.status, `${who} lacks ${access}`).toBe(403);
        expect((await response.json()).error.code).toBe('forbidden');
      }
    }
  });
});

describe('internal details stay out of answers', () => {
  it('anonymous health names no process id', async () => {
    const body = await (await call('/api/v1/health', 'GET', null)).text();
    expect(body).not.toMatch(/"pid"/);
  });

  it('a reviewer reading an import does not see where the file lay on the server; an admin does', async () => {
    const asReviewer = await (await call('/api/v1/imports/[id]', 'GET', f.reviewer)).json();
    expect(asReviewer).not.toHaveProperty('source');
    expect(asReviewer).toHaveProperty('importId', importId);
    const asAdmin = await (await call('/api/v1/imports/[id]', 'GET', f.admin)).json();
    expect(asAdmin).toHaveProperty('source', 'fixture');
  });

  it('"train now" answers the job without its lease owner', async () => {
    const response = await call('/api/v1/catalogues/[slug]/train', 'POST', f.admin);
    expect(response.status).toBe(202);
    const { job } = await response.json();
    expect(job).toHaveProperty('status');
    expect(job).not.toHaveProperty('leaseOwner');
  });
});
