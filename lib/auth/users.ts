import { isUniqueViolation } from '@/db/dialect';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Tx, withTransaction, changedRows, firstRow, onlyRow } from '@/db/client';
import { leases, USER_ROLES, users, type User, type UserRole } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { burnPasswordCompare, hashPassword, PasswordSchema, verifyPassword } from './passwords';
import { requirePermission, type Actor } from './permissions';

/** Bumping the counter revokes every session cookie issued before (see sessionActor). */
const nextSessionVersion = sql`${users.sessionVersion} + 1`;

/** A user as pages and API responses may show it: never the password hash. */
export type UserSummary = Pick<User, 'id' | 'email' | 'name' | 'role' | 'disabled' | 'createdAt'>;

const EmailSchema = z.string().trim().toLowerCase().pipe(z.email('enter a valid email address').max(254));
const RoleSchema = z.enum(USER_ROLES, { error: `a role is one of ${USER_ROLES.join(', ')}` });
const UserId = z.number().int().positive();

export const CreateUserInput = z.object({
  email: EmailSchema,
  name: z.string().trim().min(1, 'a name is required').max(200),
  password: PasswordSchema,
  role: RoleSchema,
});
export type CreateUserInput = z.infer<typeof CreateUserInput>;

const summaryColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: users.role,
  disabled: users.disabled,
  createdAt: users.createdAt,
};

function toActor(user: Pick<User, 'id' | 'role' | 'email'>): Actor {
  return { userId: user.id, role: user.role, email: user.email };
}

/**
 * Creates a user without a permission check: for the seed and command-line scripts only,
 * which run as the machine's operator (the first admin has no one to create it). Never call
 * this from a route handler or server action; they use `createUser`.
 */
export async function createUserAsSystem(
  db: Db,
  input: CreateUserInput & { passwordCost?: number },
): Promise<UserSummary> {
  const { email, name, password, role } = parseInput(CreateUserInput, input);
  // Hash before the transaction: a transaction awaits only database work (db/client.ts).
  const passwordHash = await hashPassword(password, { cost: input.passwordCost });
  const duplicate = new AppError('conflict', `A user with the email ${email} already exists.`);
  try {
    return await withTransaction(
      db,
      async (tx) => {
        if (await tx.select({ id: users.id }).from(users).where(eq(users.email, email)).limit(1).then(firstRow))
          throw duplicate;
        return await tx
          .insert(users)
          .values({ email, name, passwordHash, role })
          .returning(summaryColumns)
          .then(onlyRow);
      },
      { behavior: 'immediate' },
    );
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicate;
    throw error;
  }
}

export async function createUser(
  db: Db,
  input: CreateUserInput & { actor: Actor | null; passwordCost?: number },
): Promise<UserSummary> {
  requirePermission(input.actor, 'users.manage');
  return createUserAsSystem(db, input);
}

export async function listUsers(db: Db, options: { actor: Actor | null }): Promise<UserSummary[]> {
  requirePermission(options.actor, 'users.manage');
  return await db.select(summaryColumns).from(users).orderBy(asc(users.email));
}

async function requireUser(tx: Tx, userId: number): Promise<User> {
  const user = await tx.select().from(users).where(eq(users.id, userId)).limit(1).then(firstRow);
  if (!user) throw new AppError('not_found', `There is no user ${userId}.`);
  return user;
}

/** Refuses a change that would leave no active admin: no one could manage users any more. */
async function assertNotLastActiveAdmin(tx: Tx, user: User): Promise<void> {
  if (user.role !== 'admin' || user.disabled) return;
  const others =
    (
      await tx
        .select({ n: sql<number>`count(*)` })
        .from(users)
        .where(and(eq(users.role, 'admin'), eq(users.disabled, false), ne(users.id, user.id)))
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  if (others === 0) {
    throw new AppError('conflict', `${user.email} is the last active admin; make another user an admin first.`);
  }
}

export async function setUserRole(
  db: Db,
  input: { actor: Actor | null; userId: number; role: UserRole },
): Promise<UserSummary> {
  requirePermission(input.actor, 'users.manage');
  const userId = parseInput(UserId, input.userId);
  const role = parseInput(RoleSchema, input.role);
  return await withTransaction(
    db,
    async (tx) => {
      const user = await requireUser(tx, userId);
      if (role !== 'admin') await assertNotLastActiveAdmin(tx, user);
      // A new role signs the user out everywhere: a cookie never outlives the role it was issued for.
      return (await tx
        .update(users)
        .set({ role, sessionVersion: nextSessionVersion })
        .where(eq(users.id, userId))
        .returning(summaryColumns)
        .then(onlyRow))!;
    },
    { behavior: 'immediate' },
  );
}

/** Disabling also drops the user's leases, so the items they held go back to the queue now. */
export async function setUserDisabled(
  db: Db,
  input: { actor: Actor | null; userId: number; disabled: boolean },
): Promise<UserSummary> {
  requirePermission(input.actor, 'users.manage');
  const userId = parseInput(UserId, input.userId);
  const disabled = parseInput(z.boolean(), input.disabled);
  return await withTransaction(
    db,
    async (tx) => {
      const user = await requireUser(tx, userId);
      if (disabled) {
        await assertNotLastActiveAdmin(tx, user);
        await tx.delete(leases).where(eq(leases.reviewerId, userId));
      }
      return (await tx
        .update(users)
        .set({ disabled, sessionVersion: nextSessionVersion })
        .where(eq(users.id, userId))
        .returning(summaryColumns)
        .then(onlyRow))!;
    },
    { behavior: 'immediate' },
  );
}

export async function resetPassword(
  db: Db,
  input: { actor: Actor | null; userId: number; password: string; passwordCost?: number },
): Promise<void> {
  requirePermission(input.actor, 'users.manage');
  const userId = parseInput(UserId, input.userId);
  const password = parseInput(PasswordSchema, input.password);
  const passwordHash = await hashPassword(password, { cost: input.passwordCost });
  // Whoever knew the old password may hold a session: a reset ends every session of the user.
  const changed = changedRows(
    await db.update(users).set({ passwordHash, sessionVersion: nextSessionVersion }).where(eq(users.id, userId)),
  );
  if (changed === 0) throw new AppError('not_found', `There is no user ${userId}.`);
}

/**
 * The sign-in check. Unknown emails, disabled accounts and malformed input still pay for one
 * bcrypt comparison, so response time does not reveal which emails have accounts. Returns
 * null on any failure without saying which; rate limiting is the caller's (lib/auth/rate-limit).
 */
export async function verifyCredentials(
  db: Db,
  input: { email: string; password: string },
): Promise<(Actor & { sessionVersion: number }) | null> {
  const email = EmailSchema.safeParse(input.email);
  const password = typeof input.password === 'string' ? input.password : '';
  const user = email.success
    ? await db.select().from(users).where(eq(users.email, email.data)).limit(1).then(firstRow)
    : undefined;
  if (!user || user.disabled) return burnPasswordCompare(password).then(() => null);
  return (await verifyPassword(password, user.passwordHash))
    ? { ...toActor(user), sessionVersion: user.sessionVersion }
    : null;
}

/**
 * The actor for a signed-in user id, read fresh from the database: null when the user was
 * deleted or disabled since the session was issued, and the current role, not the one on
 * the token. Route handlers call this on every request rather than trusting the JWT's role.
 */
export async function findActiveActor(db: Db, userId: number): Promise<Actor | null> {
  const user = await db
    .select({ id: users.id, role: users.role, email: users.email, disabled: users.disabled })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1)
    .then(firstRow);
  return user && !user.disabled ? toActor(user) : null;
}

/**
 * Signs a user out everywhere: every session cookie issued before stops working on its next
 * request. Called by next-auth's sign-out (the user's own cookie) and nothing else; the admin
 * changes above bump the same counter inside their own writes.
 */
export async function revokeSessions(db: Db, userId: number): Promise<void> {
  await db.update(users).set({ sessionVersion: nextSessionVersion }).where(eq(users.id, userId));
}

/**
 * The actor a session cookie stands for, or null when the cookie is no longer good: the user
 * was deleted or disabled, or the session version stamped in the cookie at sign-in is older
 * than the user's (signed out, password reset, role changed). Read on every request.
 */
export async function sessionActor(db: Db, input: { userId: number; sessionVersion: number }): Promise<Actor | null> {
  const user = await db
    .select({
      id: users.id,
      role: users.role,
      email: users.email,
      disabled: users.disabled,
      sessionVersion: users.sessionVersion,
    })
    .from(users)
    .where(eq(users.id, input.userId))
    .limit(1)
    .then(firstRow);
  return user && !user.disabled && user.sessionVersion === input.sessionVersion ? toActor(user) : null;
}
