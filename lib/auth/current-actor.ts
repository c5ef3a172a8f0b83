import { getServerSession } from 'next-auth';
import { getDb } from '@/db/client';
import { getAuthOptions } from './next-auth-options';
import type { Actor } from './permissions';
import { findActiveActor } from './users';

/**
 * The signed-in actor for this request, or null. Reading the session runs next-auth's jwt
 * callback, which refuses a cookie whose session version is no longer the user's (signed out,
 * password reset, role changed, disabled: lib/auth/next-auth-options). The session only names
 * the user; the role and the disabled flag are read from the database on every call, so an
 * admin's change applies to the next request, not when the cookie expires.
 */
export async function getCurrentActor(): Promise<Actor | null> {
  const session = await getServerSession(getAuthOptions());
  const userId = session?.user?.id;
  if (!userId) return null;
  return findActiveActor(getDb(), userId);
}
