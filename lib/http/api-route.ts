import { z } from 'zod';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { requirePermission, type Actor, type Permission } from '@/lib/auth/permissions';
import { assertJsonContentType, errorAnswer, parseJsonBytes } from './json-body';
import type { JsonRoute } from './json-route';
import { assertSameOrigin, isMutatingMethod, JSON_BODY_MAX_BYTES, readBodyWithLimit } from './request-guard';

/** The one JSON error shape of /api/v1: `{ error: { code, message } }`. */
export function errorResponse(error: unknown): Response {
  const { status, body } = errorAnswer(error);
  return Response.json(body, { status });
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
  assertJsonContentType(request.headers.get('content-type'));
  const bytes = await readBodyWithLimit(request, { maxBytes: JSON_BODY_MAX_BYTES, what: 'JSON body' });
  return schema.parse(parseJsonBytes(bytes));
}

/** Parses the URL's query string with a zod schema (values arrive as strings: use z.coerce). */
export function parseSearchParams<T>(request: Request, schema: z.ZodType<T>): T {
  const params = Object.fromEntries(new URL(request.url).searchParams);
  return schema.parse(params);
}

const AnyJson = z.unknown();

/** A JsonRoute (./json-route.ts) as a Next route handler: `export const POST = nextJsonRoute(route)`. */
export function nextJsonRoute(route: JsonRoute) {
  return apiRoute(
    route.permission,
    async ({ actor, request }) => await route.run(actor, await parseJsonBody(request, AnyJson)),
  );
}
