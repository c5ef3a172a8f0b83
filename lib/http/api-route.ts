import { z } from 'zod';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { requirePermission, type Actor, type Permission } from '@/lib/auth/permissions';
import { AppError, badInput, httpStatusOf, isAppError } from '@/lib/errors';
import { describeZodError } from '@/lib/validate';

/** The one JSON error shape of /api/v1: `{ error: { code, message } }`. */
export function errorResponse(error: unknown): Response {
  const appError = toAppError(error);
  if (appError.code === 'internal') console.error('[api] internal error:', error);
  return Response.json(
    { error: { code: appError.code, message: appError.message } },
    { status: httpStatusOf(appError) },
  );
}

function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (error instanceof z.ZodError) return badInput(describeZodError(error));
  return new AppError('internal', 'Something went wrong on the server; the error was logged.');
}

export interface RouteContext<P> {
  actor: Actor;
  request: Request;
  params: P;
}

/**
 * Wraps a route handler: resolves the signed-in actor, checks the permission (401/403 before
 * any work), and turns thrown errors into the JSON error shape. Handlers return plain data
 * (sent as JSON) or a Response.
 */
export function apiRoute<P = Record<string, string>>(
  permission: Permission,
  handler: (ctx: RouteContext<P>) => unknown | Promise<unknown>,
) {
  return async (request: Request, context: { params: Promise<P> }): Promise<Response> => {
    try {
      const actor = requirePermission(await getCurrentActor(), permission);
      const result = await handler({ actor, request, params: await context.params });
      return result instanceof Response ? result : Response.json(result);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** Parses a JSON request body with a zod schema; a body that is not JSON is a 400. */
export async function parseJsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    throw badInput('The request body must be JSON.');
  }
  return schema.parse(body);
}

/** Parses the URL's query string with a zod schema (values arrive as strings: use z.coerce). */
export function parseSearchParams<T>(request: Request, schema: z.ZodType<T>): T {
  const params = Object.fromEntries(new URL(request.url).searchParams);
  return schema.parse(params);
}
