import { getCurrentActor } from '@/lib/auth/current-actor';
import { requirePermission, type Actor, type Permission } from '@/lib/auth/permissions';
import { isAppError } from '@/lib/errors';
import { z } from 'zod';
import { describeZodError } from './api-route';

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
    const actor = requirePermission(await getCurrentActor(), permission);
    return { ok: true, data: await body(actor) };
  } catch (error) {
    if (isAppError(error)) return { ok: false, code: error.code, message: error.message };
    if (error instanceof z.ZodError) return { ok: false, code: 'bad_input', message: describeZodError(error) };
    console.error('[action] internal error:', error);
    return { ok: false, code: 'internal', message: 'Something went wrong on the server; the error was logged.' };
  }
}
