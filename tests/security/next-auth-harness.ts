import { createRequire } from 'node:module';
import path from 'node:path';
import { expect } from 'vitest';
import { getDb } from '@/db/client';
import { createUserAsSystem } from '@/lib/auth/users';
import { getAuthOptions } from '@/lib/auth/next-auth-options';

/**
 * next-auth's own request handling for the session tests. Import it dynamically, after the test
 * has pointed LOUPE_DB and NEXTAUTH_URL at its temporary setup: its callbacks read both.
 */

// next-auth's core request handler (what its route handlers call), loaded by file: the package
// does not export it, and its Next glue needs a Next request scope a test does not have.
const { AuthHandler } = createRequire(import.meta.url)(
  path.resolve(import.meta.dirname, '../../node_modules/next-auth/core/index.js'),
) as { AuthHandler: (params: { req: AuthRequest; options: unknown }) => Promise<AuthAnswer> };

export type Cookies = Record<string, string>;
export interface AuthAnswer {
  status?: number;
  body?: unknown;
  cookies?: { name: string; value: string }[];
}
interface AuthRequest {
  origin: string;
  method: string;
  action: string;
  providerId?: string;
  body?: Record<string, string>;
  cookies: Cookies;
  headers: Record<string, string>;
  query: Record<string, string>;
}

export const PASSWORD = 'correct horse battery';
let counter = 0;

/** next-auth's own request handling (what /api/auth/* runs), with Loupe's options. */
export function auth(
  action: 'csrf' | 'callback' | 'session' | 'signout',
  init: { method?: 'GET' | 'POST'; body?: Record<string, string>; cookies?: Cookies } = {},
): Promise<AuthAnswer> {
  return AuthHandler({
    req: {
      origin: 'http://localhost:3000',
      method: init.method ?? 'GET',
      action,
      providerId: action === 'callback' ? 'credentials' : undefined,
      body: init.body,
      cookies: init.cookies ?? {},
      headers: { 'x-forwarded-for': '10.20.0.1' },
      query: {},
    },
    options: getAuthOptions(),
  });
}

export function cookiesOf(answer: AuthAnswer): Cookies {
  return Object.fromEntries((answer.cookies ?? []).map((c) => [c.name, c.value]));
}

/** Signs in through next-auth's credentials callback; the browser's cookies afterwards. */
export async function signIn(email: string, password = PASSWORD): Promise<Cookies> {
  const csrf = await auth('csrf');
  const jar = cookiesOf(csrf);
  const answer = await auth('callback', {
    method: 'POST',
    body: { email, password, csrfToken: (csrf.body as { csrfToken: string }).csrfToken },
    cookies: jar,
  });
  const session = cookiesOf(answer)['next-auth.session-token'];
  expect(session, `sign-in of ${email}`).toBeTruthy();
  return { ...jar, 'next-auth.session-token': session! };
}

/** A user with PASSWORD and a unique email (a cheap hash cost: tests only). */
export async function newUser(role: 'reviewer' | 'ops' | 'admin') {
  return createUserAsSystem(getDb(), {
    email: `user-${++counter}@example.test`,
    name: 'User',
    role,
    password: PASSWORD,
    passwordCost: 4,
  });
}
