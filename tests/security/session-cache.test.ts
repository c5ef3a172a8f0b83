import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../unit/review/fixtures';

// next-auth's callbacks read the database through getDb()/getEnv(): a temporary, migrated one.
const tmp = tempDir('loupe-security-session-cache-');
process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
process.env.NEXTAUTH_URL = 'http://localhost:3000';
delete process.env.NEXTAUTH_SECRET;

const { getDb } = await import('@/db/client');
const { migrateDb } = await import('@/db/migrate');
const { createUserAsSystem, resetPassword, setUserDisabled, setUserRole } = await import('@/lib/auth/users');
const { getAuthOptions } = await import('@/lib/auth/next-auth-options');
const { cachedSessionActor, rememberSession } = await import('@/lib/auth/current-actor');
const { revokeSessions } = await import('@/lib/auth/users');
// next-auth's core request handler (what its route handlers call), loaded by file: the package
// does not export it, and its Next glue needs a Next request scope a test does not have.
const { AuthHandler } = createRequire(import.meta.url)(
  path.resolve(import.meta.dirname, '../../node_modules/next-auth/core/index.js'),
) as { AuthHandler: (params: { req: AuthRequest; options: unknown }) => Promise<AuthAnswer> };

type Cookies = Record<string, string>;
interface AuthAnswer {
  status?: number;
  body?: unknown;
  cookies?: { name: string; value: string }[];
}
interface AuthRequest {
  origin: string;
  method: string;
  action: string;
  providerId?: string;
  body?: Record<string, string>;
  cookies: Cookies;
  headers: Record<string, string>;
  query: Record<string, string>;
}

const PASSWORD = 'correct horse battery';
let admin: { userId: number; role: 'admin'; email: string };
let counter = 0;

/** next-auth's own request handling (what /api/auth/* runs), with Loupe's options. */
function auth(
  action: 'csrf' | 'callback' | 'session' | 'signout',
  init: { method?: 'GET' | 'POST'; body?: Record<string, string>; cookies?: Cookies } = {},
): Promise<AuthAnswer> {
  return AuthHandler({
    req: {
      origin: 'http://localhost:3000',
      method: init.method ?? 'GET',
      action,
      providerId: action === 'callback' ? 'credentials' : undefined,
      body: init.body,
      cookies: init.cookies ?? {},
      headers: { 'x-forwarded-for': '10.20.0.1' },
      query: {},
    },
    options: getAuthOptions(),
  });
}

function cookiesOf(answer: AuthAnswer): Cookies {
  return Object.fromEntries((answer.cookies ?? []).map((c) => [c.name, c.value]));
}

/** Signs in through next-auth's credentials callback; the browser's cookies afterwards. */
async function signIn(email: string, password = PASSWORD): Promise<Cookies> {
  const csrf = await auth('csrf');
  const jar = cookiesOf(csrf);
  const answer = await auth('callback', {
    method: 'POST',
    body: { email, password, csrfToken: (csrf.body as { csrfToken: string }).csrfToken },
    cookies: jar,
  });
  const session = cookiesOf(answer)['next-auth.session-token'];
  expect(session, `sign-in of ${email}`).toBeTruthy();
  return { ...jar, 'next-auth.session-token': session! };
}

async function newUser(role: 'reviewer' | 'ops' | 'admin') {
  const user = await createUserAsSystem(getDb(), {
    email: `user-${++counter}@example.test`,
    name: 'User',
    role,
    password: PASSWORD,
    passwordCost: 4,
  });
  return user;
}

beforeAll(async () => {
  migrateDb(getDb());
  const user = await newUser('admin');
  admin = { userId: user.id, role: 'admin', email: user.email };
});
afterAll(() => {
  delete process.env.NEXTAUTH_URL;
  tmp.cleanup();
});

/**
 * getCurrentActor keeps a decoded cookie for a few seconds (lib/auth/current-actor.ts); the
 * database check still runs on every request, so a revocation is never cached.
 */
describe('the decoded-session cache', () => {
  async function cachedCookie(role: 'reviewer' | 'ops' = 'reviewer') {
    const user = await newUser(role);
    const token = (await signIn(user.email))['next-auth.session-token']!;
    expect(cachedSessionActor(token)).toBeUndefined();
    await rememberSession(token, user.id);
    expect(cachedSessionActor(token)).toMatchObject({ userId: user.id, role });
    return { user, token };
  }

  it('a cached cookie stops working at once when its sessions are revoked (sign-out)', async () => {
    const { user, token } = await cachedCookie();
    revokeSessions(getDb(), user.id);
    expect(cachedSessionActor(token)).toBeNull();
  });

  it('a cached cookie stops working at once on a password reset, a disable or a role change', async () => {
    const a = await cachedCookie();
    await resetPassword(getDb(), {
      actor: admin,
      userId: a.user.id,
      password: 'another horse battery',
      passwordCost: 4,
    });
    expect(cachedSessionActor(a.token)).toBeNull();
    const b = await cachedCookie();
    setUserDisabled(getDb(), { actor: admin, userId: b.user.id, disabled: true });
    expect(cachedSessionActor(b.token)).toBeNull();
    const c = await cachedCookie('ops');
    setUserRole(getDb(), { actor: admin, userId: c.user.id, role: 'reviewer' });
    expect(cachedSessionActor(c.token)).toBeNull();
  });

  it('forgets a cookie after a few seconds, and never keeps one that does not decode or names another user', async () => {
    const { user, token } = await cachedCookie();
    expect(cachedSessionActor(token, Date.now() + 60_000)).toBeUndefined();
    expect(cachedSessionActor(token)).toBeUndefined();
    await rememberSession('not-a-session-cookie', user.id);
    expect(cachedSessionActor('not-a-session-cookie')).toBeUndefined();
    await rememberSession(token, user.id + 1);
    expect(cachedSessionActor(token)).toBeUndefined();
  });
});
