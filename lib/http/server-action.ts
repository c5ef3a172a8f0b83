import { getCurrentActor } from '@/lib/auth/current-actor';
import { requirePermission, type Actor, type Permission } from '@/lib/auth/permissions';
import { isAppError } from '@/lib/errors';
import { headers } from 'next/headers';
import { z } from 'zod';
import { describeZodError } from '@/lib/validate';
import { assertSameOrigin } from './request-guard';

/**
 * A server action must come from one of Loupe's pages: Next refuses a foreign Origin itself but
 * lets a request without one through, which Loupe does not (proxy.ts refuses it earlier too,
 * with a 403). Outside a request (tests and scripts calling the action as a function) there
 * is no header to check and no browser to forge one.
 */
async function assertActionOrigin(): Promise<void> {
  let requestHeaders: Headers;
  try {
    requestHeaders = await headers();
  } catch {
    return;
  }
  assertSameOrigin(requestHeaders, { requireOrigin: true });
}

export type ActionResult<T> = { ok: true; data: T } | { ok: false; code: string; message: string };

/**
 * Server actions are public POST endpoints: each one runs through here, which checks the
 * permission first and returns errors as data the form can show (never a stack trace).
 */
export async function runAction<T>(
  permission: Permission,
  body: (actor: Actor) => T | Promise<T>,
): Promise<ActionResult<T>> {
  try {
    await assertActionOrigin();
    const actor = requirePermission(await getCurrentActor(), permission);
    return { ok: true, data: await body(actor) };
  } catch (error) {
    if (isAppError(error)) return { ok: false, code: error.code, message: error.message };
    if (error instanceof z.ZodError) return { ok: false, code: 'bad_input', message: describeZodError(error) };
    console.error('[action] internal error:', error);
    return { ok: false, code: 'internal', message: 'Something went wrong on the server; the error was logged.' };
  }
}
