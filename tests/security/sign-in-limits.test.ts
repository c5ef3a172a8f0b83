import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../unit/review/fixtures';

const tmp = tempDir('loupe-security-sign-in-');
process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
delete process.env.NEXTAUTH_SECRET;

const { getDb } = await import('@/db/client');
const { migrateDb } = await import('@/db/migrate');
const { createUserAsSystem } = await import('@/lib/auth/users');
const { getAuthOptions } = await import('@/lib/auth/next-auth-options');
const { resolveClientAddress, stampClientAddress, trustedProxyList } = await import('@/lib/auth/client-address');
const { POST: authPost } = await import('@/app/api/auth/[...nextauth]/route');
const { NextRequest } = await import('next/server');

const ROOT = path.resolve(import.meta.dirname, '../..');
const PASSWORD = 'correct horse battery';
const ADMIN = 'admin@example.test';

type Authorize = (
  credentials: Record<string, string>,
  req: { headers: Record<string, unknown> },
) => Promise<{ id: string; role: string } | null>;

function authorize(email: string, password: string, headers: Record<string, unknown>) {
  const provider = getAuthOptions().providers[0] as unknown as { options: { authorize: Authorize } };
  return provider.options.authorize({ email, password }, { headers });
}

/**
 * A web server doing what scripts/serve-web.ts does in front of Next (stamp the vouched-for
 * address into X-Forwarded-For), then next-auth's authorize with the headers as Next passes them.
 */
async function startSignInServer(trusted: string[]): Promise<{ url: string; close: () => Promise<void> }> {
  const list = trustedProxyList(trusted);
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => void answer());
    const answer = async () => {
      stampClientAddress(req, list);
      const { email, password } = JSON.parse(body) as { email: string; password: string };
      const seenAs = req.headers['x-forwarded-for'];
      try {
        const user = await authorize(email, password, req.headers);
        res.end(JSON.stringify({ status: user ? 'signed-in' : 'wrong', seenAs }));
      } catch (error) {
        res.end(JSON.stringify({ status: 'refused', message: (error as Error).message, seenAs }));
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** POST from a chosen local address (127.0.0.x are all this machine), with chosen headers. */
function attempt(
  url: string,
  input: { email: string; password: string; from?: string; forwardedFor?: string },
): Promise<{ status: string; seenAs: string; message?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        localAddress: input.from ?? '127.0.0.1',
        headers: {
          'content-type': 'application/json',
          ...(input.forwardedFor ? { 'x-forwarded-for': input.forwardedFor } : {}),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve(JSON.parse(text)));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ email: input.email, password: input.password }));
  });
}

beforeAll(async () => {
  await migrateDb(getDb());
  await createUserAsSystem(getDb(), {
    email: ADMIN,
    name: 'Admin',
    role: 'admin',
    password: PASSWORD,
    passwordCost: 4,
  });
});
beforeEach(() => {
  delete (globalThis as { __loupeSignInLimiter?: unknown }).__loupeSignInLimiter;
});
afterAll(tmp.cleanup);

describe('X-Forwarded-For', () => {
  it('from a client talking to Loupe directly is ignored: a new value each try does not get around the limit', async () => {
    const server = await startSignInServer([]);
    try {
      const answers = [];
      for (let i = 0; i < 6; i++) {
        answers.push(
          await attempt(server.url, { email: ADMIN, password: `guess-${i}-wrong`, forwardedFor: `203.0.113.${i}` }),
        );
      }
      expect(answers.map((a) => a.seenAs)).toEqual(Array(6).fill('127.0.0.1'));
      expect(answers.map((a) => a.status)).toEqual(['wrong', 'wrong', 'wrong', 'refused', 'refused', 'refused']);
      expect(answers[3]!.message).toMatch(/Too many failed sign-ins from this address\. Try again in \d+ second/);
      // The attacker's failures delay the attacker, not the admin at another address.
      expect(await attempt(server.url, { email: ADMIN, password: PASSWORD, from: '127.0.0.2' })).toMatchObject({
        status: 'signed-in',
        seenAs: '127.0.0.2',
      });
    } finally {
      await server.close();
    }
  });

  it('is believed from a configured proxy, and only the entry that proxy appended', async () => {
    const server = await startSignInServer(['127.0.0.1']);
    try {
      expect(
        await attempt(server.url, { email: ADMIN, password: 'wrong password 1', forwardedFor: '198.51.100.7' }),
      ).toMatchObject({
        seenAs: '198.51.100.7',
      });
      // A client behind the proxy prepending its own claim: the proxy's entry (rightmost) wins.
      for (let i = 0; i < 3; i++) {
        const answer = await attempt(server.url, {
          email: ADMIN,
          password: `wrong password ${i + 2}`,
          forwardedFor: `10.${i}.0.1, 198.51.100.7`,
        });
        expect(answer.seenAs).toBe('198.51.100.7');
      }
      expect(
        (await attempt(server.url, { email: ADMIN, password: PASSWORD, forwardedFor: '198.51.100.7' })).status,
      ).toBe('refused');
      // Another client behind the same proxy is another address.
      expect(
        (await attempt(server.url, { email: ADMIN, password: PASSWORD, forwardedFor: '198.51.100.8' })).status,
      ).toBe('signed-in');
      // A peer that is not a configured proxy: its header is ignored.
      expect(
        await attempt(server.url, {
          email: ADMIN,
          password: PASSWORD,
          from: '127.0.0.3',
          forwardedFor: '198.51.100.9',
        }),
      ).toMatchObject({ seenAs: '127.0.0.3', status: 'signed-in' });
    } finally {
      await server.close();
    }
  });

  it('resolves chains hop by hop through trusted proxies and ranges, IPv4-mapped peers included', () => {
    const proxies = trustedProxyList(['10.0.0.0/8', '::1', '192.0.2.10']);
    const resolve = (peer: string, forwardedFor?: string) =>
      resolveClientAddress({ peer, forwardedFor, trustedProxies: proxies });
    expect(resolve('203.0.113.5', '1.1.1.1')).toBe('203.0.113.5');
    expect(resolve('::ffff:10.1.2.3', '192.0.2.10, 198.51.100.1, 10.0.0.2')).toBe('198.51.100.1');
    expect(resolve('::1', '2001:db8::7')).toBe('2001:db8::7');
    expect(resolve('10.0.0.1', 'not-an-ip')).toBe('10.0.0.1');
    expect(resolve('10.0.0.1')).toBe('10.0.0.1');
  });

  it('LOUPE_TRUSTED_PROXIES is validated at start: a bad entry stops the process with a sentence', () => {
    const check = (value: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '-e', "await import('./lib/env.ts').then((m) => m.getEnv())"], {
        cwd: ROOT,
        env: { ...process.env, LOUPE_TRUSTED_PROXIES: value },
        encoding: 'utf8',
      });
    const bad = check('10.0.0.1, proxy.internal');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/LOUPE_TRUSTED_PROXIES.*"proxy\.internal" is not an IP address or CIDR range/);
    expect(check('10.0.0.0/33').status).not.toBe(0);
    expect(check('10.0.0.0/8, ::1, 192.0.2.10').status).toBe(0);
  });
});

describe('the sign-in body', () => {
  function signInRequest(body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
    return new NextRequest('http://localhost:3000/api/auth/callback/credentials', {
      method: 'POST',
      headers: { host: 'localhost:3000', 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
      duplex: 'half',
    } as ConstructorParameters<typeof NextRequest>[1]);
  }
  const context = { params: Promise.resolve({ nextauth: ['callback', 'credentials'] }) };

  it('of 100 MB is refused with 413 and a sentence, by its Content-Length before reading or at 16 KB while streaming', async () => {
    let pulled = 0;
    const password = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          if (pulled > 1600) controller.close();
          else controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
        },
      });
    const rssBefore = process.memoryUsage.rss();
    const declared = await authPost(
      signInRequest(password(), { 'content-length': String(100 * 1024 * 1024) }),
      context,
    );
    expect(declared.status).toBe(413);
    expect((await declared.json()).error.message).toMatch(/The sign-in request is larger than 16 KB/);
    expect(pulled).toBeLessThanOrEqual(2);

    pulled = 0;
    const streamed = await authPost(signInRequest(password()), context);
    expect(streamed.status).toBe(413);
    // 100 MB would be 1,600 chunks; one past 16 KB is all that was read.
    expect(pulled).toBeLessThanOrEqual(3);
    expect((process.memoryUsage.rss() - rssBefore) / (1024 * 1024)).toBeLessThan(100);
  });

  it('from another origin is refused with 403 before it is read', async () => {
    const foreign = await authPost(
      signInRequest(new Blob(['email=a%40b.c&password=x']).stream(), { origin: 'http://evil.example' }),
      context,
    );
    expect(foreign.status).toBe(403);
  });
});
