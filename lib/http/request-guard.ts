import { AppError } from '@/lib/errors';

/**
 * The checks every request body and every mutating request goes through before a handler
 * sees it: the body read within a size limit, and the request's origin. Used by apiRoute,
 * the sign-in route, runAction and proxy.ts (which must stay free of Node-only imports).
 */

/** JSON bodies of /api/v1: the largest (a 50-item grid) is a few KB. */
export const JSON_BODY_MAX_BYTES = 1024 * 1024;
/** Sign-in form: an email and a password of at most 72 bytes, plus next-auth's fields. */
export const SIGN_IN_BODY_MAX_BYTES = 16 * 1024;
/** Server actions: Next's own limit (next.config.mjs serverActions.bodySizeLimit), checked earlier by proxy.ts. */
export const SERVER_ACTION_BODY_MAX_BYTES = 1024 * 1024;

/** What the checks read of a request's headers: a WHATWG Headers, or an adapter over Node's. */
export type HeaderReader = Pick<Headers, 'get'>;

const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isMutatingMethod(method: string): boolean {
  return MUTATING_METHODS.has(method.toUpperCase());
}

export function describeLimit(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
}

export function tooLarge(what: string, maxBytes: number): AppError {
  return new AppError(
    'too_large',
    `The ${what} is larger than ${describeLimit(maxBytes)}, the most this address accepts.`,
  );
}

/** A declared Content-Length above `maxBytes`, or null: refusable before reading a byte. */
export function declaredLengthOver(headers: HeaderReader, maxBytes: number): number | null {
  const declared = Number(headers.get('content-length') ?? Number.NaN);
  return Number.isFinite(declared) && declared > maxBytes ? declared : null;
}

/**
 * Reads a request body, refusing it with 413 once it passes `maxBytes`: at once when
 * Content-Length says so, otherwise at the first chunk past the limit, so an oversized body is
 * never held in memory whole (a 100 MB password took 2 GB and 14 s before this).
 */
export async function readBodyWithLimit(
  request: Request,
  options: { maxBytes: number; what?: string; describe?: (bytes: number | null) => string },
): Promise<Uint8Array<ArrayBuffer>> {
  const { maxBytes } = options;
  const refuse = (bytes: number | null) =>
    options.describe
      ? new AppError('too_large', options.describe(bytes))
      : tooLarge(options.what ?? 'request body', maxBytes);
  const declared = declaredLengthOver(request.headers, maxBytes);
  if (declared !== null) {
    await request.body?.cancel().catch(() => {});
    throw refuse(declared);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => {});
        throw refuse(null);
      }
      chunks.push(value);
    }
  }
  const body = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The origin (scheme://host[:port]) a URL-ish header names, or null when it names none. */
function originOf(value: string | null): string | null {
  if (!value || value === 'null') return null;
  try {
    return new URL(value).origin;
  } catch {
    return null;
  }
}

/**
 * Why this request's origin is refused, or null when it is allowed. A browser sends Origin on
 * every cross-origin request and on same-origin POSTs; Referer is the fallback. The request is
 * ours when that origin's host is the Host it was sent to, or the origin of NEXTAUTH_URL. A
 * request naming no origin at all came from a script, not a page (a browser cannot be made to
 * omit both), so it passes unless `requireOrigin` says otherwise (server actions).
 */
export function originRefusal(headers: HeaderReader, options: { requireOrigin?: boolean } = {}): string | null {
  const originHeader = headers.get('origin');
  const claimed = originHeader ?? headers.get('referer');
  if (originHeader === 'null') return 'Requests from an opaque origin (Origin: null) cannot change anything here.';
  const origin = originOf(claimed);
  if (!origin) {
    if (!claimed && !options.requireOrigin) return null;
    return claimed
      ? 'The request names an origin that is not a URL; send it from the Loupe page itself.'
      : 'The request has no Origin header; send it from the Loupe page itself.';
  }
  const host = headers.get('host');
  if (host && new URL(origin).host === host.toLowerCase()) return null;
  if (originOf(process.env.NEXTAUTH_URL ?? null) === origin) return null;
  return `Requests from ${origin} cannot change anything here; use Loupe at its own address.`;
}

export function assertSameOrigin(headers: HeaderReader, options: { requireOrigin?: boolean } = {}): void {
  const refusal = originRefusal(headers, options);
  if (refusal) throw new AppError('forbidden', refusal);
}
