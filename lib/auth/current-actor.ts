import { getServerSession } from 'next-auth';
import { cookies } from 'next/headers';
import { getDb } from '@/db/client';
import { getAuthOptions } from './next-auth-options';
import type { Actor } from './permissions';
import { cachedSessionActor, rememberSession, SESSION_COOKIES } from './session-cache';
import { findActiveActor } from './users';

// The cache of decoded cookies lives in ./session-cache (no Next imports: the production server
// reads it before Next has started a request).

async function sessionCookie(): Promise<string | null> {
  const jar = await cookies();
  for (const name of SESSION_COOKIES) {
    const value = jar.get(name)?.value;
    if (value) return value;
  }
  return null;
}

/**
 * The signed-in actor for this request, or null. Reading the session runs next-auth's jwt
 * callback, which refuses a cookie whose session version is no longer the user's (signed out,
 * password reset, role changed, disabled: lib/auth/next-auth-options). The session only names
 * the user; the role and the disabled flag are read from the database on every call, so an
 * admin's change applies to the next request, not when the cookie expires.
 */
export async function getCurrentActor(): Promise<Actor | null> {
  // A chunked cookie (a token over 4 KB, never ours) is not found here and takes the full path.
  const token = await sessionCookie();
  const cached = token ? await cachedSessionActor(token) : undefined;
  if (cached !== undefined) return cached;
  const session = await getServerSession(getAuthOptions());
  const userId = session?.user?.id;
  if (!userId) return null;
  const actor = await findActiveActor(getDb(), userId);
  if (actor && token) await rememberSession(token, userId);
  return actor;
}
