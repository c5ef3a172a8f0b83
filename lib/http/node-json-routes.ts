import type { IncomingMessage, ServerResponse } from 'node:http';
import { cachedSessionActor, sessionTokenOf } from '@/lib/auth/session-cache';
import { requirePermission } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { assertJsonContentType, errorAnswer, parseJsonBytes } from './json-body';
import type { JsonRoute } from './json-route';
import {
  assertSameOrigin,
  declaredLengthOver,
  JSON_BODY_MAX_BYTES,
  tooLarge,
  type HeaderReader,
} from './request-guard';
import { securityHeaders } from './security-headers.mjs';

/**
 * JSON routes answered on Node's own request and response, before Next sees the request. Next's
 * handling of an API request (its router, the request and response as web streams, gzip of a
 * few hundred bytes) cost about 4 ms of the web server's one JavaScript thread per request,
 * which held the review queue near 100 decisions a second whatever SQLite did (docs/operations.md).
 *
 * Only a request whose session cookie the server decoded and accepted within the last few
 * minutes is answered here (lib/auth/session-cache.ts keeps those; the database check of the
 * user, role and session version still runs on every request). Any other request, a first one
 * or an expired or revoked cookie, is left to Next, which runs next-auth's full read, renews the
 * cookie and fills the cache. The answers are those of the same route under Next: the same
 * checks in the same order, the same error shape and the same security headers.
 */
export type NodeJsonRoutes = ReadonlyMap<string, JsonRoute>;

const HEADERS: Record<string, string> = Object.fromEntries(
  securityHeaders().map(({ key, value }) => [key.toLowerCase(), value]),
);

/** True when the request is answered here; false when nothing was read or written (pass it to Next). */
export async function answerJsonRoute(
  routes: NodeJsonRoutes,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<boolean> {
  if (request.method !== 'POST') return false;
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const route = routes.get(query >= 0 ? url.slice(0, query) : url);
  if (!route) return false;
  const token = sessionTokenOf(request.headers.cookie);
  const actor = token ? await cachedSessionActor(token) : undefined;
  if (!actor) return false;
  answer(route, actor, request, response).catch((error: unknown) => {
    // Only a failure to write the answer itself lands here; the socket is all that is left to close.
    console.error('[api] could not answer:', error);
    response.destroy();
  });
  return true;
}

async function answer(
  route: JsonRoute,
  actor: NonNullable<Awaited<ReturnType<typeof cachedSessionActor>>>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const headers: HeaderReader = { get: (name) => headerValue(request.headers[name.toLowerCase()]) };
  try {
    assertSameOrigin(headers);
    requirePermission(actor, route.permission);
    assertJsonContentType(headers.get('content-type'));
    const json = parseJsonBytes(await readBody(request, headers));
    send(response, 200, await route.run(actor, json));
  } catch (error) {
    const { status, body } = errorAnswer(error);
    // A body refused part-way is not read to its end: the connection closes after the answer.
    send(response, status, body, status === 413 ? { connection: 'close' } : {});
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The body within JSON_BODY_MAX_BYTES: refused at once when Content-Length says more, else at the first chunk past it. */
function readBody(request: IncomingMessage, headers: HeaderReader): Promise<Uint8Array> {
  if (declaredLengthOver(headers, JSON_BODY_MAX_BYTES) !== null) {
    return Promise.reject(tooLarge('JSON body', JSON_BODY_MAX_BYTES));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.byteLength;
      if (received > JSON_BODY_MAX_BYTES) {
        // Not read further (not destroyed either: the 413 still has to go out on this socket).
        request.pause();
        settle(() => reject(tooLarge('JSON body', JSON_BODY_MAX_BYTES)));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => settle(() => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received))));
    request.on('error', (error) => settle(() => reject(error)));
    request.on('close', () =>
      settle(() => reject(new AppError('bad_input', 'The request ended before its body did.'))),
    );
  });
}

function send(response: ServerResponse, status: number, data: unknown, extra: Record<string, string> = {}): void {
  if (response.headersSent) {
    response.destroy(new AppError('internal', 'the answer was already started'));
    return;
  }
  const payload = JSON.stringify(data);
  response.writeHead(status, {
    ...HEADERS,
    ...extra,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}
