import bcrypt from 'bcryptjs';
import { z } from 'zod';

/** bcrypt cost in production (about 0.3 s a hash here). Tests pass a lower one. */
export const BCRYPT_COST = 12;
/** bcryptjs refuses costs below 4; tests use 4. */
const MIN_COST = 4;

export const PASSWORD_MIN_LENGTH = 10;
/** bcrypt reads only the first 72 bytes: a longer password would be silently truncated. */
const PASSWORD_MAX_BYTES = 72;

export const PasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `a password has at least ${PASSWORD_MIN_LENGTH} characters`)
  .refine(
    (value) => Buffer.byteLength(value, 'utf8') <= PASSWORD_MAX_BYTES,
    `a password has at most ${PASSWORD_MAX_BYTES} bytes`,
  );

/**
 * A cost-12 hash of a string no one knows, compared against when the email is unknown or
 * the account disabled, so such a sign-in takes as long as a real one. Precomputed rather
 * than hashed at start-up to keep the first sign-in fast; its cost must equal BCRYPT_COST.
 */
const DUMMY_HASH = '$2b$12$JErtqEzObu6x1qi8fMNPReeM9SHSjLk6BWhs0Eb9t3Ajn.7.96bAy';

export interface HashOptions {
  /** bcrypt cost factor; defaults to BCRYPT_COST. Only tests should lower it. */
  cost?: number;
}

export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  const cost = options.cost ?? BCRYPT_COST;
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > 31)
    throw new RangeError(`bcrypt cost ${cost} is out of range ${MIN_COST}-31`);
  return bcrypt.hash(password, cost);
}

/** Constant-time comparison inside bcrypt; false for a malformed hash rather than a throw. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/** Spends the time of one real comparison and always fails. */
export async function burnPasswordCompare(password: string): Promise<false> {
  await verifyPassword(password, DUMMY_HASH);
  return false;
}
