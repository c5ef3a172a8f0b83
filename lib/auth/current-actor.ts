import { getServerSession } from 'next-auth';
import { decode } from 'next-auth/jwt';
import { cookies } from 'next/headers';
import { getDb } from '@/db/client';
import { getAuthSecret } from './auth-secret';
import { getAuthOptions } from './next-auth-options';
import type { Actor } from './permissions';
import { findActiveActor, sessionActor } from './users';

/**
 * Decoding the session cookie (key derivation and AES-GCM) is most of what reading a session
 * costs; a reviewer sends one cookie for hours. So a cookie's decoded user and session version
 * are kept for SESSION_CACHE_MS, and within that time only the database check runs: the same
 * sessionActor query the jwt callback makes (disabled, role, session version), so a revoked,
 * disabled or demoted session stops working on its very next request, cached or not. What
 * waits up to SESSION_CACHE_MS is next-auth's own work on a cache miss: the cookie's expiry
 * check and its sliding renewal (12 h, renewed every few seconds of activity either way).
 */
const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_MAX = 10_000;
const SESSION_COOKIES = ['__Secure-next-auth.session-token', 'next-auth.session-token'];
const decodedSessions = new Map<string, { userId: number; sessionVersion: number; until: number }>();

async function sessionCookie(): Promise<string | null> {
  const jar = await cookies();
  for (const name of SESSION_COOKIES) {
    const value = jar.get(name)?.value;
    if (value) return value;
  }
  return null;
}

/**
 * The actor of a cookie decoded within SESSION_CACHE_MS, checked against the database now
 * (null: revoked, disabled or gone); undefined when the cookie is not in the cache.
 */
export function cachedSessionActor(token: string, now = Date.now()): Actor | null | undefined {
  const cached = decodedSessions.get(token);
  if (!cached) return undefined;
  if (cached.until <= now) {
    decodedSessions.delete(token);
    return undefined;
  }
  return sessionActor(getDb(), cached);
}

/** Keeps a cookie's user and session version once next-auth has accepted it for `userId`. */
export async function rememberSession(token: string, userId: number): Promise<void> {
  const payload = await decode({ token, secret: getAuthSecret() }).catch(() => null);
  if (payload?.userId !== userId || typeof payload.sessionVersion !== 'number') return;
  if (decodedSessions.size >= SESSION_CACHE_MAX) decodedSessions.clear();
  const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : Date.now();
  decodedSessions.set(token, {
    userId,
    sessionVersion: payload.sessionVersion,
    until: Math.min(Date.now() + SESSION_CACHE_MS, expires),
  });
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
  const cached = token ? cachedSessionActor(token) : undefined;
  if (cached !== undefined) return cached;
  const session = await getServerSession(getAuthOptions());
  const userId = session?.user?.id;
  if (!userId) return null;
  const actor = findActiveActor(getDb(), userId);
  if (actor && token) await rememberSession(token, userId);
  return actor;
}
