import { NextRequest } from 'next/server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobs } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';
import { instantiate, loadHandlers, walkApiRoutes, type Method } from './routes';

let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
// runAction reads the request's headers from Next; here the test decides what they are.
let actionHeaders: Headers | null = null;
vi.mock('next/headers', () => ({
  headers: async () => {
    if (!actionHeaders) throw new Error('headers() was called outside a request scope');
    return actionHeaders;
  },
}));

const { runAction } = await import('@/lib/http/server-action');
const { proxy } = await import('@/proxy');

const HOST = 'localhost:3000';
const MUTATING: Method[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** Routes whose body is JSON (parseJsonBody): they answer 415 to anything else. */
const JSON_ROUTES = [
  '/api/v1/catalogues/[slug]/threshold',
  '/api/v1/queue/claim',
  '/api/v1/queue/claim-batch',
  '/api/v1/queue/heartbeat',
  '/api/v1/queue/release',
  '/api/v1/reviews',
  '/api/v1/reviews/grid',
  '/api/v1/reviews/undo',
];

const routes = walkApiRoutes().filter((r) => r.pattern.startsWith('/api/v1/'));
const tmp = tempDir('loupe-security-origin-');
let f: Fixture;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{}, {}]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  signedIn = f.admin;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  delete process.env.NEXTAUTH_URL;
  tmp.cleanup();
});

async function send(
  pattern: string,
  method: Method,
  init: { headers?: Record<string, string>; body?: BodyInit; duplex?: 'half' },
): Promise<Response> {
  const route = routes.find((r) => r.pattern === pattern)!;
  const handler = (await loadHandlers(route))[method]!;
  const { url, params } = instantiate(route, { slug: 'demo', id: '1' });
  const request = new Request(url.replace('localhost', HOST), {
    method,
    headers: { host: HOST, 'content-type': 'application/json', ...init.headers },
    body: init.body ?? '{}',
    ...(init.duplex ? { duplex: init.duplex } : {}),
  } as RequestInit);
  return handler(request, { params: Promise.resolve(params) });
}

const mutatingRoutes = routes.flatMap((route) => MUTATING.map((method) => ({ pattern: route.pattern, method })));

describe('origin of mutating API requests', () => {
  it('finds the mutating routes to check', async () => {
    const withHandlers = [];
    for (const { pattern, method } of mutatingRoutes) {
      const route = routes.find((r) => r.pattern === pattern)!;
      if ((await loadHandlers(route))[method]) withHandlers.push(`${method} ${pattern}`);
    }
    expect(withHandlers.length).toBeGreaterThanOrEqual(11);
  });

  it('refuses a foreign Origin, another port of the same host, a foreign Referer and Origin: null with 403 and a sentence', async () => {
    for (const { pattern, method } of mutatingRoutes) {
      const route = routes.find((r) => r.pattern === pattern)!;
      if (!(await loadHandlers(route))[method]) continue;
      for (const headers of [
        { origin: 'http://evil.example' } as Record<string, string>,
        { origin: 'http://localhost:4000' },
        { referer: 'http://evil.example/page' },
        { origin: 'null' },
      ]) {
        const response = await send(pattern, method, { headers });
        expect(response.status, `${method} ${pattern} ${JSON.stringify(headers)}`).toBe(403);
        const { error } = await response.json();
        expect(error.code).toBe('forbidden');
        expect(error.message).toMatch(/cannot change anything here/);
      }
    }
    // Nothing happened: "train now" from another origin queued no job.
    expect(await f.db.select().from(jobs)).toEqual([]);
  });

  it('lets the same origin, NEXTAUTH_URL, and scripts that send no Origin through', async () => {
    expect(
      (await send('/api/v1/catalogues/[slug]/train', 'POST', { headers: { origin: `http://${HOST}` } })).status,
    ).toBe(202);
    process.env.NEXTAUTH_URL = 'https://loupe.example.org';
    const behindProxy = await send('/api/v1/queue/release', 'POST', {
      headers: { origin: 'https://loupe.example.org' },
      body: JSON.stringify({ itemIds: [1] }),
    });
    expect(behindProxy.status).toBe(200);
    delete process.env.NEXTAUTH_URL;
    const script = await send('/api/v1/queue/release', 'POST', { body: JSON.stringify({ itemIds: [1] }) });
    expect(script.status).toBe(200);
    const sameReferer = await send('/api/v1/queue/release', 'POST', {
      headers: { referer: `http://${HOST}/review` },
      body: JSON.stringify({ itemIds: [1] }),
    });
    expect(sameReferer.status).toBe(200);
  });
});

describe('JSON bodies', () => {
  it('answer 415 with a sentence when not sent as application/json (a cross-site form cannot send JSON)', async () => {
    for (const pattern of JSON_ROUTES) {
      const method = pattern.endsWith('threshold') ? 'PUT' : 'POST';
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const response = await send(pattern, method, { headers: { 'content-type': type } });
        expect(response.status, `${pattern} ${type}`).toBe(415);
        expect((await response.json()).error.message).toMatch(/Content-Type: application\/json/);
      }
    }
  });

  it('refuse a body over 1 MB with 413: by its Content-Length before reading, or at the first chunk past it', async () => {
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        },
      });
    const declared = await send('/api/v1/reviews', 'POST', {
      headers: { 'content-length': String(100 * 1024 * 1024) },
      body: endless(),
      duplex: 'half',
    });
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.message).toMatch(/JSON body is larger than 1 MB/);
    expect(pulled).toBeLessThanOrEqual(2);

    pulled = 0;
    const streamed = await send('/api/v1/reviews', 'POST', { body: endless(), duplex: 'half' });
    expect(streamed.status).toBe(413);
    // 1 MB is 16 chunks of 64 KB: it stopped right past the limit instead of reading on.
    expect(pulled).toBeGreaterThanOrEqual(17);
    expect(pulled).toBeLessThan(24);
  });
});

describe('server actions', () => {
  function actionRequest(headers: Record<string, string>): NextRequest {
    return new NextRequest(`http://${HOST}/admin/users`, {
      method: 'POST',
      headers: { host: HOST, 'next-action': 'abc123', 'content-type': 'text/plain', ...headers },
      body: '[]',
    });
  }

  it('proxy.ts answers 403 without an Origin or with a foreign one, and 413 with a sentence over 1 MB', async () => {
    const missing = proxy(actionRequest({ cookie: 'next-auth.session-token=x' }));
    expect(missing.status).toBe(403);
    expect(await missing.text()).toMatch(/no Origin header/);
    const foreign = proxy(actionRequest({ origin: 'http://localhost:4000', cookie: 'next-auth.session-token=x' }));
    expect(foreign.status).toBe(403);
    const big = proxy(
      actionRequest({
        origin: `http://${HOST}`,
        'content-length': String(2 * 1024 * 1024),
        cookie: 'next-auth.session-token=x',
      }),
    );
    expect(big.status).toBe(413);
    expect(await big.text()).toMatch(/larger than 1 MB/);
    const fine = proxy(actionRequest({ origin: `http://${HOST}`, cookie: 'next-auth.session-token=x' }));
    expect(fine.status).toBe(200);
    expect(fine.headers.get('x-middleware-next')).toBe('1');
  });

  it('runAction refuses a request without an Origin, or a foreign one, before the action body runs', async () => {
    let ran = 0;
    const body = () => ++ran;
    actionHeaders = new Headers({ host: HOST });
    expect(await runAction('settings.write', body)).toMatchObject({ ok: false, code: 'forbidden' });
    actionHeaders = new Headers({ host: HOST, origin: 'http://evil.example' });
    expect(await runAction('settings.write', body)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(ran).toBe(0);
    actionHeaders = new Headers({ host: HOST, origin: `http://${HOST}` });
    expect(await runAction('settings.write', body)).toEqual({ ok: true, data: 1 });
    actionHeaders = null;
  });
});
