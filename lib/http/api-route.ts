import { z } from 'zod';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { requirePermission, type Actor, type Permission } from '@/lib/auth/permissions';
import { AppError, badInput, httpStatusOf, isAppError } from '@/lib/errors';
import { describeZodError } from '@/lib/validate';
import { assertSameOrigin, isMutatingMethod, JSON_BODY_MAX_BYTES, readBodyWithLimit } from './request-guard';

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
      // A page on another origin (even another port of this host, which the Lax cookie
      // reaches) must not act as the signed-in user: refused before the session is read.
      if (isMutatingMethod(request.method)) assertSameOrigin(request.headers);
      const actor = requirePermission(await getCurrentActor(), permission);
      const result = await handler({ actor, request, params: await context.params });
      return result instanceof Response ? result : Response.json(result);
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/**
 * Parses a JSON request body with a zod schema: 415 unless sent as application/json (a form
 * post from another site cannot be JSON without a CORS preflight), 413 past
 * JSON_BODY_MAX_BYTES (checked while reading, not after), 400 when it is not JSON.
 */
export async function parseJsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new AppError(
      'unsupported_media_type',
      `Send the request body as JSON with Content-Type: application/json${contentType ? ` (not ${contentType.slice(0, 80)})` : ''}.`,
    );
  }
  const bytes = await readBodyWithLimit(request, { maxBytes: JSON_BODY_MAX_BYTES, what: 'JSON body' });
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
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
