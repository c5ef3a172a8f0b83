import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../review/fixtures';

// next-auth's authorize and the secret read LOUPE_DB through getDb()/getEnv(): point them at
// a temporary database before anything loads them (each test file runs in its own process).
const tmp = tempDir('loupe-sign-in-');
process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
delete process.env.NEXTAUTH_SECRET;

const { getDb } = await import('@/db/client');
const { migrateDb } = await import('@/db/migrate');
const { createUserAsSystem, setUserDisabled } = await import('@/lib/auth/users');
const { getAuthOptions } = await import('@/lib/auth/next-auth-options');
const { getAuthSecret } = await import('@/lib/auth/auth-secret');

type Authorize = (
  credentials: Record<string, string>,
  req: { headers: Record<string, string> },
) => Promise<{ id: string; role: string } | null>;

function authorize(email: string, password: string, address = '10.0.0.1') {
  const provider = getAuthOptions().providers[0] as unknown as { options: { authorize: Authorize } };
  return provider.options.authorize({ email, password }, { headers: { 'x-forwarded-for': address } });
}

const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  await migrateDb(getDb());
  await createUserAsSystem(getDb(), {
    email: 'rev@example.test',
    name: 'Rev',
    role: 'reviewer',
    password: PASSWORD,
    passwordCost: 4,
  });
  await createUserAsSystem(getDb(), {
    email: 'gone@example.test',
    name: 'Gone',
    role: 'ops',
    password: PASSWORD,
    passwordCost: 4,
  });
});
afterAll(tmp.cleanup);

describe('credentials sign-in', () => {
  it('accepts the right password (any case of the email) and puts id and role on the user', async () => {
    const user = await authorize('REV@example.test', PASSWORD);
    expect(user).toMatchObject({ role: 'reviewer' });
    expect(Number(user?.id)).toBeGreaterThan(0);
  });

  it('refuses a wrong password, an unknown email and a disabled account alike (null, no reason given)', async () => {
    expect(await authorize('rev@example.test', 'wrong password!', '10.0.0.2')).toBeNull();
    expect(await authorize('nobody@example.test', PASSWORD, '10.0.0.2')).toBeNull();
    const admin = await createUserAsSystem(getDb(), {
      email: 'boss@example.test',
      name: 'Boss',
      role: 'admin',
      password: PASSWORD,
      passwordCost: 4,
    });
    const { queryGet } = await import('@/lib/dashboards/common');
    const gone = (await queryGet<{ id: number }>(
      getDb(),
      'select id from users where email = ?',
      'gone@example.test',
    ))!;
    await setUserDisabled(getDb(), {
      actor: { userId: admin.id, role: 'admin', email: admin.email },
      userId: gone.id,
      disabled: true,
    });
    expect(await authorize('gone@example.test', PASSWORD, '10.0.0.2')).toBeNull();
  });

  it('after three failures from one address that pair waits, with a sentence; the account still opens from elsewhere', async () => {
    await createUserAsSystem(getDb(), {
      email: 'target@example.test',
      name: 'Target',
      role: 'reviewer',
      password: PASSWORD,
      passwordCost: 4,
    });
    for (let i = 0; i < 3; i++)
      expect(await authorize('target@example.test', `wrong-${i}-password`, '10.0.1.1')).toBeNull();
    await expect(authorize('target@example.test', PASSWORD, '10.0.1.1')).rejects.toThrow(
      /Too many failed sign-ins from this address\. Try again in \d+ second/,
    );
    expect(await authorize('target@example.test', PASSWORD, '10.0.2.1')).toMatchObject({ role: 'reviewer' });
  });
});

describe('session secret', () => {
  it('is created once beside the database, readable only by its owner, and stable', () => {
    const secret = getAuthSecret();
    const file = path.join(tmp.dir, 'auth-secret');
    expect(fs.readFileSync(file, 'utf8')).toBe(secret);
    expect(fs.statSync(file).mode & 0o077).toBe(0);
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(getAuthSecret()).toBe(secret);
  });
});
