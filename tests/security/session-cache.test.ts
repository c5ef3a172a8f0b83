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
const { resetPassword, setUserDisabled, setUserRole, revokeSessions } = await import('@/lib/auth/users');
const { cachedSessionActor, rememberSession, SESSION_CACHE_MS } = await import('@/lib/auth/session-cache');
const { newUser, signIn } = await import('./next-auth-harness');

let admin: { userId: number; role: 'admin'; email: string };

beforeAll(async () => {
  await migrateDb(getDb());
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
    expect(await cachedSessionActor(token)).toBeUndefined();
    await rememberSession(token, user.id);
    expect(await cachedSessionActor(token)).toMatchObject({ userId: user.id, role });
    return { user, token };
  }

  it('a cached cookie stops working at once when its sessions are revoked (sign-out)', async () => {
    const { user, token } = await cachedCookie();
    await revokeSessions(getDb(), user.id);
    expect(await cachedSessionActor(token)).toBeNull();
  });

  it('a cached cookie stops working at once on a password reset, a disable or a role change', async () => {
    const a = await cachedCookie();
    await resetPassword(getDb(), {
      actor: admin,
      userId: a.user.id,
      password: 'another horse battery',
      passwordCost: 4,
    });
    expect(await cachedSessionActor(a.token)).toBeNull();
    const b = await cachedCookie();
    await setUserDisabled(getDb(), { actor: admin, userId: b.user.id, disabled: true });
    expect(await cachedSessionActor(b.token)).toBeNull();
    const c = await cachedCookie('ops');
    await setUserRole(getDb(), { actor: admin, userId: c.user.id, role: 'reviewer' });
    expect(await cachedSessionActor(c.token)).toBeNull();
  });

  it('forgets a cookie after a few minutes, and never keeps one that does not decode or names another user', async () => {
    const { user, token } = await cachedCookie();
    expect(await cachedSessionActor(token, Date.now() + SESSION_CACHE_MS + 1_000)).toBeUndefined();
    expect(await cachedSessionActor(token)).toBeUndefined();
    await rememberSession('not-a-session-cookie', user.id);
    expect(await cachedSessionActor('not-a-session-cookie')).toBeUndefined();
    await rememberSession(token, user.id + 1);
    expect(await cachedSessionActor(token)).toBeUndefined();
  });

  it('never keeps a cookie past its own expiry, however long the cache', async () => {
    const user = await newUser('reviewer');
    const { queryGet } = await import('@/lib/dashboards/common');
    const sessionVersion = (await queryGet<{ v: number }>(
      getDb(),
      'select session_version as v from users where id = ?',
      user.id,
    ))!.v;
    const { encode } = await import('next-auth/jwt');
    const { getAuthSecret } = await import('@/lib/auth/auth-secret');
    const token = await encode({
      token: { sub: String(user.id), userId: user.id, role: 'reviewer', sessionVersion },
      secret: getAuthSecret(),
      maxAge: 3,
    });
    await rememberSession(token, user.id);
    expect(await cachedSessionActor(token)).toMatchObject({ userId: user.id });
    expect(await cachedSessionActor(token, Date.now() + 4_000)).toBeUndefined();
  });
});
