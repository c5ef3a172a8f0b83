import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { leases, users, USER_ROLES, type UserRole } from '@/db/schema';
import { can, PERMISSION_NAMES, permissionsOf, requirePermission, type Permission } from '@/lib/auth/permissions';
import { hashPassword, verifyPassword } from '@/lib/auth/passwords';
import { SignInLimiter } from '@/lib/auth/rate-limit';
import {
  createUser,
  findActiveActor,
  listUsers,
  resetPassword,
  setUserDisabled,
  setUserRole,
  verifyCredentials,
} from '@/lib/auth/users';
import { claimNext } from '@/lib/review/queue';
import { expectAppError, makeFixture, tempDir } from '../review/fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-auth-');
afterAll(tmp.cleanup);

const PASSWORD = 'correct horse battery';

describe('permission table', () => {
  // Written out in full so that a change to the table must be made here too, on purpose.
  const expected: Record<UserRole, Permission[]> = {
    reviewer: ['items.review', 'catalogue.read'],
    admin: [
      'items.review',
      'catalogue.read',
      'catalogue.import',
      'export.read',
      'settings.write',
      'users.manage',
      'models.manage',
      'dashboards.read',
      'evaluation.read',
      'lab.read',
      'lab.run',
    ],
    ops: ['catalogue.read', 'export.read', 'dashboards.read', 'evaluation.read', 'lab.read'],
  };

  for (const role of USER_ROLES) {
    it(`${role}: allowed exactly its permissions, refused every other`, () => {
      expect(permissionsOf(role).sort()).toEqual([...expected[role]].sort());
      for (const permission of PERMISSION_NAMES) {
        const actor = { userId: 1, role, email: 'x@example.test' };
        if (expected[role].includes(permission)) {
          expect(can(role, permission)).toBe(true);
          expect(requirePermission(actor, permission)).toBe(actor);
        } else {
          expect(can(role, permission)).toBe(false);
          expect(() => requirePermission(actor, permission)).toThrow(expect.objectContaining({ code: 'forbidden' }));
        }
      }
    });
  }

  it('no actor is unauthorized, not forbidden', () => {
    for (const permission of PERMISSION_NAMES)
      expect(() => requirePermission(null, permission)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
  });
});

describe('passwords and credentials', () => {
  it('hashes with bcrypt at the requested cost and verifies', async () => {
    const hash = await hashPassword(PASSWORD, { cost: 4 });
    expect(hash).toMatch(/^\$2[aby]\$04\$/);
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword('wrong password!', hash)).toBe(false);
    expect(await verifyPassword(PASSWORD, 'not a hash')).toBe(false);
  });

  it('valid, wrong, unknown and disabled credentials', async () => {
    const f = await makeFixture(tmp.dir, []);
    const actor = await verifyCredentials(f.db, { email: `  ${f.reviewer.email.toUpperCase()} `, password: PASSWORD });
    expect(actor).toEqual({ ...f.reviewer, sessionVersion: 0 });
    expect(await verifyCredentials(f.db, { email: f.reviewer.email, password: 'wrong password' })).toBeNull();
    expect(await verifyCredentials(f.db, { email: 'nobody@example.test', password: PASSWORD })).toBeNull();
    expect(await verifyCredentials(f.db, { email: 'not an email', password: PASSWORD })).toBeNull();
    await setUserDisabled(f.db, { actor: f.admin, userId: f.reviewer.userId, disabled: true });
    expect(await verifyCredentials(f.db, { email: f.reviewer.email, password: PASSWORD })).toBeNull();
    expect(await findActiveActor(f.db, f.reviewer.userId)).toBeNull();
    await setUserDisabled(f.db, { actor: f.admin, userId: f.reviewer.userId, disabled: false });
    expect(await findActiveActor(f.db, f.reviewer.userId)).toEqual(f.reviewer);
  });
});

describe('user management', () => {
  it('only users.manage may create, list, change role, disable or reset', async () => {
    const f = await makeFixture(tmp.dir, []);
    const input = {
      email: 'new@example.test',
      name: 'New',
      password: PASSWORD,
      role: 'reviewer' as const,
      passwordCost: 4,
    };
    for (const actor of [f.reviewer, f.ops]) {
      await expectAppError(() => createUser(f.db, { ...input, actor }), 'forbidden');
      await expectAppError(async () => await listUsers(f.db, { actor }), 'forbidden');
      await expectAppError(
        async () => await setUserRole(f.db, { actor, userId: f.reviewer2.userId, role: 'admin' }),
        'forbidden',
      );
      await expectAppError(
        async () => await setUserDisabled(f.db, { actor, userId: f.reviewer2.userId, disabled: true }),
        'forbidden',
      );
      await expectAppError(
        () => resetPassword(f.db, { actor, userId: f.reviewer2.userId, password: 'another long one' }),
        'forbidden',
      );
    }
    await expectAppError(() => createUser(f.db, { ...input, actor: null }), 'unauthorized');
    expect(await f.db.select().from(users).where(eq(users.email, input.email)).limit(1).then(firstRow)).toBeUndefined();
    // Roles are unchanged by the refused attempts.
    expect((await findActiveActor(f.db, f.reviewer2.userId))?.role).toBe('reviewer');
  });

  it('an admin creates users; input is validated; emails are unique, case-insensitively', async () => {
    const f = await makeFixture(tmp.dir, []);
    const created = await createUser(f.db, {
      actor: f.admin,
      email: ' Mixed@Example.TEST ',
      name: 'Mixed',
      password: PASSWORD,
      role: 'ops',
      passwordCost: 4,
    });
    expect(created).toMatchObject({ email: 'mixed@example.test', role: 'ops', disabled: false });
    expect(created).not.toHaveProperty('passwordHash');
    await expectAppError(
      () =>
        createUser(f.db, {
          actor: f.admin,
          email: 'MIXED@example.test',
          name: 'Again',
          password: PASSWORD,
          role: 'ops',
          passwordCost: 4,
        }),
      'conflict',
      /already exists/,
    );
    await expectAppError(
      () => createUser(f.db, { actor: f.admin, email: 'nope', name: 'x', password: PASSWORD, role: 'ops' }),
      'bad_input',
      /^email: /,
    );
    await expectAppError(
      () =>
        createUser(f.db, { actor: f.admin, email: 'short@example.test', name: 'x', password: 'short', role: 'ops' }),
      'bad_input',
      /password: a password has at least 10 characters/,
    );
    await expectAppError(
      () =>
        createUser(f.db, {
          actor: f.admin,
          email: 'role@example.test',
          name: 'x',
          password: PASSWORD,
          role: 'root' as UserRole,
        }),
      'bad_input',
      /^role: /,
    );
    expect((await listUsers(f.db, { actor: f.admin })).map((u) => u.email)).toContain('mixed@example.test');
  });

  it("role change, password reset, and disabling drops the user's leases", async () => {
    const f = await makeFixture(tmp.dir, [{}, {}]);
    const held = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId }))!;
    await setUserDisabled(f.db, { actor: f.admin, userId: f.reviewer.userId, disabled: true });
    expect(await f.db.select().from(leases)).toEqual([]);
    expect((await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId }))?.itemId).toBe(held.itemId);
    await setUserDisabled(f.db, { actor: f.admin, userId: f.reviewer.userId, disabled: false });
    expect((await setUserRole(f.db, { actor: f.admin, userId: f.reviewer.userId, role: 'ops' })).role).toBe('ops');
    expect((await findActiveActor(f.db, f.reviewer.userId))?.role).toBe('ops');
    await resetPassword(f.db, {
      actor: f.admin,
      userId: f.reviewer.userId,
      password: 'a brand new secret',
      passwordCost: 4,
    });
    expect(await verifyCredentials(f.db, { email: f.reviewer.email, password: PASSWORD })).toBeNull();
    expect(await verifyCredentials(f.db, { email: f.reviewer.email, password: 'a brand new secret' })).not.toBeNull();
    await expectAppError(
      () => resetPassword(f.db, { actor: f.admin, userId: 99_999, password: 'a brand new secret' }),
      'not_found',
    );
  });

  it('the last active admin cannot be demoted or disabled, by themselves or anyone', async () => {
    const f = await makeFixture(tmp.dir, []);
    await expectAppError(
      async () => await setUserRole(f.db, { actor: f.admin, userId: f.admin.userId, role: 'reviewer' }),
      'conflict',
      /last active admin/,
    );
    await expectAppError(
      async () => await setUserDisabled(f.db, { actor: f.admin, userId: f.admin.userId, disabled: true }),
      'conflict',
      /last active admin/,
    );
    expect((await findActiveActor(f.db, f.admin.userId))?.role).toBe('admin');
    // With a second active admin, the first may step down; then the second is the last.
    await setUserRole(f.db, { actor: f.admin, userId: f.reviewer2.userId, role: 'admin' });
    await setUserDisabled(f.db, { actor: f.admin, userId: f.admin.userId, disabled: true });
    const second = (await findActiveActor(f.db, f.reviewer2.userId))!;
    await expectAppError(
      async () => await setUserRole(f.db, { actor: second, userId: second.userId, role: 'ops' }),
      'conflict',
      /last active admin/,
    );
    // A disabled admin does not count as active: re-enabling then demoting them is fine.
    await setUserDisabled(f.db, { actor: second, userId: f.admin.userId, disabled: false });
    expect((await setUserRole(f.db, { actor: second, userId: f.admin.userId, role: 'ops' })).role).toBe('ops');
  });
});

describe('sign-in rate limit', () => {
  const t0 = 1_000_000_000_000;

  it('delays one account from one address after 3 failures, doubling each time; other pairs are not touched', () => {
    const limiter = new SignInLimiter();
    const key = { email: 'a@example.test', address: '10.0.0.1' };
    for (let i = 0; i < 3; i++) {
      expect(limiter.check({ ...key, now: t0 + i * 1000 })).toEqual({ allowed: true });
      limiter.recordFailure({ ...key, now: t0 + i * 1000 });
    }
    expect(limiter.check({ ...key, now: t0 + 2000 })).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect(limiter.check({ ...key, now: t0 + 4000 }).allowed).toBe(true);
    limiter.recordFailure({ ...key, now: t0 + 4000 });
    expect(limiter.check({ ...key, now: t0 + 4000 })).toEqual({ allowed: false, retryAfterSeconds: 4 });
    // The same account from elsewhere (the admin at their desk) and another account from here: no delay.
    expect(limiter.check({ email: 'A@example.test', address: '10.0.0.2', now: t0 + 4000 }).allowed).toBe(true);
    expect(limiter.check({ email: 'b@example.test', address: '10.0.0.1', now: t0 + 4000 }).allowed).toBe(true);
    // A success clears the pair; failures leave after the window (an hour).
    limiter.recordSuccess(key);
    expect(limiter.check({ ...key, now: t0 + 4000 }).allowed).toBe(true);
  });

  it('never locks: the delay stops growing at 15 minutes, and failures leave after an hour', () => {
    const limiter = new SignInLimiter();
    const key = { email: 'admin@example.test', address: '10.0.0.3' };
    for (let i = 0; i < 30; i++) limiter.recordFailure({ ...key, now: t0 });
    expect(limiter.check({ ...key, now: t0 })).toEqual({ allowed: false, retryAfterSeconds: 15 * 60 });
    expect(limiter.check({ ...key, now: t0 + 15 * 60_000 }).allowed).toBe(true);
    expect(limiter.check({ ...key, now: t0 + 60 * 60_000 + 1 }).allowed).toBe(true);
  });

  it('delays an address after 20 failures across accounts, not other addresses; success clears the pair only', () => {
    const limiter = new SignInLimiter();
    for (let i = 0; i < 20; i++) limiter.recordFailure({ email: `u${i}@example.test`, address: '10.0.0.9', now: t0 });
    expect(limiter.check({ email: 'fresh@example.test', address: '10.0.0.9', now: t0 + 1000 })).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
    expect(limiter.check({ email: 'fresh@example.test', address: '10.0.0.10', now: t0 + 1000 }).allowed).toBe(true);
    limiter.recordSuccess({ email: 'u0@example.test', address: '10.0.0.9' });
    expect(limiter.check({ email: 'u0@example.test', address: '10.0.0.9', now: t0 }).allowed).toBe(false);
    // An unknown address is one address of its own, not a way around the limit.
    for (let i = 0; i < 20; i++) limiter.recordFailure({ email: `v${i}@example.test`, address: null, now: t0 });
    expect(limiter.check({ email: 'w@example.test', address: null, now: t0 }).allowed).toBe(false);
  });
});
