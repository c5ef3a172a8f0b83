import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../unit/review/fixtures';

// next-auth's callbacks read the database through getDb()/getEnv(): a temporary, migrated one.
const tmp = tempDir('loupe-security-sessions-');
process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
process.env.NEXTAUTH_URL = 'http://localhost:3000';
delete process.env.NEXTAUTH_SECRET;

const { getDb } = await import('@/db/client');
const { migrateDb } = await import('@/db/migrate');
const { resetPassword, setUserDisabled, setUserRole } = await import('@/lib/auth/users');
const { auth, cookiesOf, newUser, signIn } = await import('./next-auth-harness');
type Cookies = import('./next-auth-harness').Cookies;

let admin: { userId: number; role: 'admin'; email: string };

/** What GET /api/auth/session answers for these cookies. */
async function sessionOf(jar: Cookies): Promise<{ user?: { role: string; id: number } }> {
  return (await auth('session', { cookies: jar })).body as { user?: { role: string; id: number } };
}

beforeAll(async () => {
  await migrateDb(getDb());
  const user = await newUser('admin');
  admin = { userId: user.id, role: 'admin', email: user.email };
});
afterAll(() => {
  delete process.env.NEXTAUTH_URL;
  tmp.cleanup();
});

describe('revocable sessions', () => {
  it('a session shows the current role; sign-out revokes the cookie itself, not only in the browser', async () => {
    const user = await newUser('reviewer');
    const jar = await signIn(user.email);
    expect((await sessionOf(jar)).user).toMatchObject({ id: user.id, role: 'reviewer' });
    const csrf = await auth('csrf', { cookies: jar });
    await auth('signout', {
      method: 'POST',
      body: { csrfToken: (csrf.body as { csrfToken: string }).csrfToken },
      cookies: jar,
    });
    // The old cookie, replayed (as a stolen copy would be): no session, and next-auth clears it.
    const replay = await auth('session', { cookies: jar });
    expect(replay.body).toEqual({});
    expect(cookiesOf(replay)['next-auth.session-token']).toBe('');
    // Signing in again works and gives a fresh session.
    expect((await sessionOf(await signIn(user.email))).user?.role).toBe('reviewer');
  });

  it('a password reset by an admin ends the sessions opened with the old password', async () => {
    const user = await newUser('reviewer');
    const jar = await signIn(user.email);
    await resetPassword(getDb(), { actor: admin, userId: user.id, password: 'a brand new password', passwordCost: 4 });
    expect((await sessionOf(jar)).user).toBeUndefined();
    expect((await sessionOf(await signIn(user.email, 'a brand new password'))).user?.role).toBe('reviewer');
  });

  it('disabling ends the sessions at once', async () => {
    const user = await newUser('ops');
    const jar = await signIn(user.email);
    await setUserDisabled(getDb(), { actor: admin, userId: user.id, disabled: true });
    expect((await sessionOf(jar)).user).toBeUndefined();
    // Enabling again does not bring the old cookie back.
    await setUserDisabled(getDb(), { actor: admin, userId: user.id, disabled: false });
    expect((await sessionOf(jar)).user).toBeUndefined();
  });

  it('a role change ends the sessions issued for the old role; the next session carries the new one', async () => {
    const user = await newUser('admin');
    const jar = await signIn(user.email);
    expect((await sessionOf(jar)).user?.role).toBe('admin');
    await setUserRole(getDb(), { actor: admin, userId: user.id, role: 'reviewer' });
    expect((await sessionOf(jar)).user).toBeUndefined();
    expect((await sessionOf(await signIn(user.email))).user?.role).toBe('reviewer');
  });

  it("one user's revocation leaves other users' sessions alone", async () => {
    const [a, b] = [await newUser('reviewer'), await newUser('reviewer')];
    const [jarA, jarB] = [await signIn(a.email), await signIn(b.email)];
    await setUserDisabled(getDb(), { actor: admin, userId: a.id, disabled: true });
    expect((await sessionOf(jarA)).user).toBeUndefined();
    expect((await sessionOf(jarB)).user?.role).toBe('reviewer');
  });
});
