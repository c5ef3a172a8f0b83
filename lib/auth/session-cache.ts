import { decode } from 'next-auth/jwt';
import { getDb } from '@/db/client';
import { getAuthSecret } from './auth-secret';
import type { Actor } from './permissions';
import { sessionActor } from './users';

/**
 * Decoding the session cookie (key derivation and AES-GCM) is most of what reading a session
 * costs; a reviewer sends one cookie for hours. So a cookie's decoded user and session version
 * are kept for SESSION_CACHE_MS, and within that time only the database check runs: the same
 * sessionActor query the jwt callback makes (disabled, role, session version), so a revoked,
 * disabled or demoted session stops working on its very next request, cached or not. The
 * cookie's own expiry still holds to the millisecond (an entry never outlives it). What waits up
 * to SESSION_CACHE_MS is next-auth's sliding renewal of the 12-hour cookie, which the pages'
 * other requests also do. Five minutes, not seconds: a fresh session's review requests skip
 * Next (lib/http/node-json-routes.ts), and with a 5 s cache 200 reviewers sent 40 requests a
 * second through next-auth's full read (decode, check, re-encode, Next's handling), which held
 * the server's thread long enough to put a 16 ms median on a claim (docs/operations.md).
 */
export const SESSION_CACHE_MS = 5 * 60_000;
const SESSION_CACHE_MAX = 10_000;
export const SESSION_COOKIES = ['__Secure-next-auth.session-token', 'next-auth.session-token'];
type DecodedSessions = Map<string, { userId: number; sessionVersion: number; until: number }>;
// On globalThis: the production server answers the review queue's hot routes itself
// (scripts/serve-web.ts) from its own copy of this module, and Next's server bundle has
// another; both must see the same cache, which only Next's full session read fills.
const globalForSessions = globalThis as typeof globalThis & { __loupeDecodedSessions?: DecodedSessions };
const decodedSessions: DecodedSessions = (globalForSessions.__loupeDecodedSessions ??= new Map());

/** The session cookie's value in a raw Cookie header, or null (the names getCurrentActor reads). */
export function sessionTokenOf(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  const values = new Map<string, string>();
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) values.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const name of SESSION_COOKIES) {
    const value = values.get(name);
    if (!value) continue;
    try {
      return value.includes('%') ? decodeURIComponent(value) : value;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The actor of a cookie decoded within SESSION_CACHE_MS, checked against the database now
 * (null: revoked, disabled or gone); undefined when the cookie is not in the cache.
 */
export async function cachedSessionActor(token: string, now = Date.now()): Promise<Actor | null | undefined> {
  const cached = decodedSessions.get(token);
  if (!cached) return undefined;
  if (cached.until <= now) {
    decodedSessions.delete(token);
    return undefined;
  }
  return await sessionActor(getDb(), cached);
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
