import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { getDb } from '@/db/client';
import { getAuthSecret } from './auth-secret';
import { addressFromHeaders } from './client-address';
import { describeRetry, getSignInLimiter } from './rate-limit';
import { revokeSessions, sessionActor, verifyCredentials } from './users';

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

/** Thrown by the jwt callback for a cookie that is no longer good; next-auth then clears it. */
class SessionRevoked extends Error {
  constructor() {
    super('the session was revoked (signed out, password reset, role changed or account disabled)');
    this.name = 'SessionRevoked';
  }
}

/**
 * next-auth: email + password against the users table, sessions as signed JWT cookies
 * (http-only, SameSite=Lax, Secure whenever NEXTAUTH_URL is https). Attempts are limited per
 * (account, address) pair and per address before the password is checked (lib/auth/rate-limit).
 * Each cookie carries the user's session version from sign-in; the jwt callback compares it
 * with the database on every request, so a revoked cookie stops working at once.
 */
export function getAuthOptions(): NextAuthOptions {
  return {
    secret: getAuthSecret(),
    session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
    // next-auth also infers this from NEXTAUTH_URL; said here so it does not depend on that.
    useSecureCookies: (process.env.NEXTAUTH_URL ?? '').startsWith('https://'),
    pages: { signIn: '/signin' },
    providers: [
      CredentialsProvider({
        name: 'Email and password',
        credentials: { email: { label: 'Email', type: 'email' }, password: { label: 'Password', type: 'password' } },
        async authorize(credentials, req) {
          const email = String(credentials?.email ?? '')
            .trim()
            .toLowerCase();
          const password = String(credentials?.password ?? '');
          const key = { email, address: addressFromHeaders(req?.headers) };
          const limiter = getSignInLimiter();
          const decision = limiter.check(key);
          if (!decision.allowed) throw new Error(describeRetry(decision.retryAfterSeconds));
          const actor = await verifyCredentials(getDb(), { email, password });
          if (!actor) {
            limiter.recordFailure(key);
            return null;
          }
          limiter.recordSuccess(key);
          return {
            id: String(actor.userId),
            email: actor.email,
            name: actor.email,
            role: actor.role,
            sessionVersion: actor.sessionVersion,
          };
        },
      }),
    ],
    callbacks: {
      async jwt({ token, user }) {
        if (user) {
          token.userId = Number(user.id);
          token.role = user.role;
          token.sessionVersion = user.sessionVersion;
          return token;
        }
        // Every later request: the cookie is good only while its version is the user's.
        const actor = await sessionActor(getDb(), {
          userId: token.userId ?? 0,
          sessionVersion: token.sessionVersion ?? -1,
        });
        if (!actor) throw new SessionRevoked();
        token.role = actor.role;
        return token;
      },
      session({ session, token }) {
        session.user = {
          id: token.userId ?? 0,
          email: token.email ?? '',
          name: token.name ?? '',
          // The current role (the jwt callback just read it), not the one at sign-in.
          role: token.role ?? 'reviewer',
        };
        return session;
      },
    },
    events: {
      // Sign-out ends every session of the user, not only this cookie (which the browser drops anyway).
      async signOut({ token }) {
        if (token?.userId) await revokeSessions(getDb(), token.userId);
      },
    },
    logger: {
      error(code, metadata) {
        // A revoked cookie is expected, not an error worth a stack trace.
        const cause = (metadata as { error?: unknown } | undefined)?.error ?? metadata;
        if (code === 'JWT_SESSION_ERROR' && (cause as { name?: unknown } | null)?.name === 'SessionRevoked') return;
        console.error(`[next-auth][error][${code}]`, metadata);
      },
      warn(code) {
        console.warn(`[next-auth][warn][${code}]`);
      },
      debug() {},
    },
  };
}
