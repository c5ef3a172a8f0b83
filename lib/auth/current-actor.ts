import { getServerSession } from 'next-auth';
import { getDb } from '@/db/client';
import { getAuthOptions } from './next-auth-options';
import type { Actor } from './permissions';
import { findActiveActor } from './users';

/**
 * The signed-in actor for this request, or null. The session only names the user; the role
 * and the disabled flag are read from the database on every call, so an admin's change
 * applies to the next request, not when the cookie expires.
 */
export async function getCurrentActor(): Promise<Actor | null> {
  const session = await getServerSession(getAuthOptions());
  const userId = session?.user?.id;
  if (!userId) return null;
  return findActiveActor(getDb(), userId);
}
