import type { NextAuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import { getDb } from '@/db/client';
import { getAuthSecret } from './auth-secret';
import { getSignInLimiter } from './rate-limit';
import { verifyCredentials } from './users';

export const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

function clientAddress(headers: Record<string, unknown> | undefined): string | null {
  const forwarded = headers?.['x-forwarded-for'];
  const first = typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined;
  return first || null;
}

/**
 * next-auth: email + password against the users table, sessions as signed JWT cookies
 * (http-only, SameSite=Lax, Secure whenever NEXTAUTH_URL is https). Attempts are limited per
 * account and per address before the password is checked.
 */
export function getAuthOptions(): NextAuthOptions {
  return {
    secret: getAuthSecret(),
    session: { strategy: 'jwt', maxAge: SESSION_MAX_AGE_SECONDS },
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
          const key = { email, address: clientAddress(req?.headers) };
          const limiter = getSignInLimiter();
          const decision = limiter.check(key);
          if (!decision.allowed) {
            throw new Error(
              `Too many failed sign-ins. Try again in ${Math.ceil(decision.retryAfterSeconds / 60)} minute(s).`,
            );
          }
          const actor = await verifyCredentials(getDb(), { email, password });
          if (!actor) {
            limiter.recordFailure(key);
            return null;
          }
          limiter.recordSuccess(key);
          return { id: String(actor.userId), email: actor.email, name: actor.email, role: actor.role };
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user) {
          token.userId = Number(user.id);
          token.role = user.role;
        }
        return token;
      },
      session({ session, token }) {
        session.user = {
          id: token.userId ?? 0,
          email: token.email ?? '',
          name: token.name ?? '',
          role: token.role ?? 'reviewer',
        };
        return session;
      },
    },
  };
}
