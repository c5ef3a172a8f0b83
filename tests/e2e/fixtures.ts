import Database from 'better-sqlite3';
import { test as base, expect, type APIRequestContext, type Page } from '@playwright/test';
import { E2E } from './e2e-env';

export { expect };

export type DemoRole = 'admin' | 'reviewer' | 'ops';

/** The demo accounts `npm start` creates (lib/seed.ts DEMO_USERS). */
export const DEMO: Record<DemoRole, { email: string; password: string }> = {
  admin: { email: 'admin@loupe.demo', password: 'admin-demo-password' },
  reviewer: { email: 'reviewer@loupe.demo', password: 'reviewer-demo-password' },
  ops: { email: 'ops@loupe.demo', password: 'ops-demo-password' },
};

/**
 * Signs in through next-auth's credentials endpoint (the form is tested once, in auth.spec).
 * `request` is a page's or context's request object, so the session cookie lands in that
 * browser context.
 */
export async function signInWithApi(
  request: APIRequestContext,
  credentials: { email: string; password: string },
): Promise<void> {
  const csrf = await request.get('/api/auth/csrf');
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await request.post('/api/auth/callback/credentials', {
    form: { csrfToken, email: credentials.email, password: credentials.password, json: 'true' },
  });
  expect(response.ok(), `sign-in as ${credentials.email} failed with ${response.status()}`).toBe(true);
  const session = (await (await request.get('/api/auth/session')).json()) as { user?: { email?: string } };
  expect(session.user?.email, `no session after signing in as ${credentials.email}`).toBe(credentials.email);
}

export async function signInAs(page: Page, role: DemoRole): Promise<void> {
  await signInWithApi(page.request, DEMO[role]);
}

/** Read-only access to the server's database, to check what the UI claims was written. */
export function openE2eDb(): Database.Database {
  return new Database(E2E.dbPath, { readonly: true, fileMustExist: true });
}

export function queryOne<T>(sql: string, ...params: unknown[]): T | undefined {
  const db = openE2eDb();
  try {
    return db.prepare(sql).get(...params) as T | undefined;
  } finally {
    db.close();
  }
}

export function queryAll<T>(sql: string, ...params: unknown[]): T[] {
  const db = openE2eDb();
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** A test with a page already signed in per role: `test('...', async ({ reviewerPage }) => ...)`. */
export const test = base.extend<{ adminPage: Page; reviewerPage: Page; opsPage: Page }>({
  adminPage: async ({ browser }, use) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAs(page, 'admin');
    await use(page);
    await context.close();
  },
  reviewerPage: async ({ browser }, use) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAs(page, 'reviewer');
    await use(page);
    await context.close();
  },
  opsPage: async ({ browser }, use) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAs(page, 'ops');
    await use(page);
    await context.close();
  },
});
