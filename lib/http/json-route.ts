import type { z } from 'zod';
import type { Actor, Permission } from '@/lib/auth/permissions';

/**
 * A POST route of /api/v1 that takes a JSON body and answers JSON, written once and served two
 * ways: by Next (`nextJsonRoute` in ./api-route.ts, from the route file under app/api) and, for the review queue's
 * hot routes, by the production server before Next sees the request (lib/http/node-json-routes.ts).
 * Both run the same checks in the same order: origin, session, permission, media type, size,
 * JSON, schema; then `handle`.
 */
export interface JsonRoute {
  permission: Permission;
  /** Checks the parsed JSON with the route's schema (400 with a sentence), then handles it. */
  run: (actor: Actor, json: unknown) => unknown;
}

export function jsonRoute<B>(definition: {
  permission: Permission;
  body: z.ZodType<B>;
  handle: (input: { actor: Actor; body: B }) => unknown;
}): JsonRoute {
  return {
    permission: definition.permission,
    run: async (actor, json) => await definition.handle({ actor, body: definition.body.parse(json) }),
  };
}
