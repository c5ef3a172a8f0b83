import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';
import { closeDb } from '@/db/client';
import { queryGet } from '@/lib/dashboards/common';

/**
 * The review queue's hot routes as the production server answers them before Next
 * (lib/http/node-json-routes.ts, scripts/serve-web.ts): the same checks as under Next, and
 * anything it may not answer left to Next untouched. Real sessions from next-auth, a real
 * database, a real HTTP server; "next" below stands for Next's handler.
 */
const tmp = tempDir('loupe-security-node-routes-');
let fixture: Fixture;
let base: string;
let server: http.Server;
const tokens: Record<'reviewer' | 'ops' | 'fresh' | 'revoked', string> = {} as never;

beforeAll(async () => {
  fixture = await makeFixture(
    tmp.dir,
    Array.from({ length: 6 }, () => ({ confidence: 0.5 })),
  );
  process.env.LOUPE_DB = fixture.file;
  process.env.NEXTAUTH_URL = 'http://localhost:3000';
  delete process.env.NEXTAUTH_SECRET;
  const { rememberSession } = await import('@/lib/auth/session-cache');
  const { answerJsonRoute } = await import('@/lib/http/node-json-routes');
  const { REVIEW_HOT_ROUTES } = await import('@/lib/review/api-routes');
  const { newUser, signIn } = await import('./next-auth-harness');
  for (const kind of ['reviewer', 'ops', 'fresh', 'revoked'] as const) {
    const user = await newUser(kind === 'ops' ? 'ops' : 'reviewer');
    tokens[kind] = (await signIn(user.email))['next-auth.session-token']!;
    // Next's full session read fills the cache; 'fresh' has never been through it.
    if (kind !== 'fresh') await rememberSession(tokens[kind], user.id);
    if (kind === 'revoked') {
      const { revokeSessions } = await import('@/lib/auth/users');
      const { getDb } = await import('@/db/client');
      await revokeSessions(getDb(), user.id);
    }
  }
  server = http.createServer((request, response) => {
    void answerJsonRoute(REVIEW_HOT_ROUTES, request, response).then((answered) => {
      if (answered) return;
      response.writeHead(299, { 'content-type': 'text/plain' });
      response.end('next');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await closeDb(fixture.db);
  delete process.env.NEXTAUTH_URL;
  tmp.cleanup();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => { error?: { code: string; message: string } } & Record<string, unknown>;
}

function post(
  route: string,
  body: string | Buffer,
  init: { token?: string | null; origin?: string | null; type?: string; chunked?: boolean; method?: string } = {},
): Promise<Answer> {
  const url = new URL(route, base);
  const headers: Record<string, string> = { 'content-type': init.type ?? 'application/json' };
  const token = init.token === undefined ? tokens.reviewer : init.token;
  if (token) headers.cookie = `other=1; next-auth.session-token=${token}`;
  const origin = init.origin === undefined ? base : init.origin;
  if (origin) headers.origin = origin;
  if (!init.chunked) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: init.method ?? 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode!, headers: response.headers, text, json: () => JSON.parse(text) });
      });
    });
    // A peer that stops reading mid-upload may see its socket closed under it.
    request.on('error', (error) => reject(error));
    if (init.chunked && Buffer.byteLength(body) > 0) {
      const bytes = Buffer.from(body);
      for (let i = 0; i < bytes.length; i += 64 * 1024) request.write(bytes.subarray(i, i + 64 * 1024));
      request.end();
    } else request.end(body);
  });
}

describe('the review routes answered before Next', () => {
  it('claims and submits for a fresh session, with the API error shape and security headers', async () => {
    const claim = await post('/api/v1/queue/claim', JSON.stringify({ catalogue: 'demo' }));
    expect(claim.status).toBe(200);
    expect(claim.headers['x-content-type-options']).toBe('nosniff');
    expect(claim.headers['x-frame-options']).toBe('DENY');
    expect(claim.headers['content-type']).toBe('application/json');
    const item = (claim.json() as { item: { itemId: number } }).item;
    expect(fixture.itemIds).toContain(item.itemId);

    const decision = { itemId: item.itemId, action: 'confirm', clientId: 'node-route-1', durationMs: 900 };
    const submit = await post('/api/v1/reviews', JSON.stringify(decision));
    expect(submit.status).toBe(200);
    expect(submit.json()).toMatchObject({ review: { itemId: item.itemId, action: 'confirm' }, replayed: false });
    const again = await post('/api/v1/reviews', JSON.stringify(decision));
    expect(again.json()).toMatchObject({ replayed: true });
    const rows = await queryGet(fixture.db, 'SELECT count(*) AS n FROM reviews WHERE item_id = ?', item.itemId);
    expect(rows).toEqual({ n: 1 });

    const lapsed = await post(
      '/api/v1/reviews',
      JSON.stringify({
        ...decision,
        itemId: fixture.itemIds.find((id) => id !== item.itemId),
        clientId: 'node-route-2',
      }),
    );
    expect(lapsed.status).toBe(409);
    expect(lapsed.json().error?.code).toBe('conflict');
  });

  it('leaves to Next what it may not answer: no cookie, a cookie Next has not read, a revoked one, other routes and methods', async () => {
    const body = JSON.stringify({ catalogue: 'demo' });
    for (const answer of [
      await post('/api/v1/queue/claim', body, { token: null }),
      await post('/api/v1/queue/claim', body, { token: tokens.fresh }),
      await post('/api/v1/queue/claim', body, { token: tokens.revoked }),
      await post('/api/v1/queue/claim', body, { token: 'not-a-session' }),
      await post('/api/v1/queue/progress', body),
      await post('/api/v1/models/promote', body),
      await post('/api/v1/queue/claim', '', { method: 'GET' }),
    ]) {
      expect(answer.status).toBe(299);
      expect(answer.text).toBe('next');
    }
  });

  it('refuses another origin, another role, another media type, and bad bodies with a sentence', async () => {
    const body = JSON.stringify({ catalogue: 'demo' });
    const cases: [Promise<Answer>, number, RegExp][] = [
      [
        post('/api/v1/queue/claim', body, { origin: 'http://evil.example' }),
        403,
        /Requests from http:\/\/evil\.example cannot change anything here/,
      ],
      [
        post('/api/v1/queue/claim', body, { token: tokens.ops }),
        403,
        /role \(ops\) does not allow this \(items\.review\)/,
      ],
      [
        post('/api/v1/queue/claim', body, { type: 'text/plain' }),
        415,
        /Content-Type: application\/json \(not text\/plain\)/,
      ],
      [post('/api/v1/queue/claim', '{"catalogue":'), 400, /must be JSON/],
      [post('/api/v1/queue/claim', JSON.stringify({})), 400, /catalogue/],
      [post('/api/v1/queue/claim', JSON.stringify({ catalogue: 'nope' })), 404, /nope|catalogue/i],
      [
        post('/api/v1/queue/claim-batch', JSON.stringify({ catalogue: 'demo', predictedClass: 0, size: 51 })),
        400,
        /at most 50/,
      ],
    ];
    for (const [pending, status, message] of cases) {
      const answer = await pending;
      expect(answer.status, answer.text).toBe(status);
      expect(answer.json().error?.message).toMatch(message);
    }
  });

  it('refuses a body over 1 MB from its declared length, and part-way when it is sent in chunks', async () => {
    const big = JSON.stringify({ catalogue: 'demo', pad: 'x'.repeat(1024 * 1024 + 10) });
    const declared = await post('/api/v1/queue/claim', big);
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    expect(declared.json().error?.message).toMatch(/larger than 1 MB/);
    const chunked = await post('/api/v1/queue/claim', big, { chunked: true }).catch((error: Error) => error);
    // Either the 413 arrives, or the socket closes under the sender once the answer is out.
    if (!(chunked instanceof Error)) {
      expect(chunked.status).toBe(413);
      expect(chunked.json().error?.message).toMatch(/larger than 1 MB/);
    }
    // The server is still answering.
    expect((await post('/api/v1/queue/heartbeat', JSON.stringify({ itemIds: [fixture.itemIds[0]] }))).status).toBe(200);
  });
});
