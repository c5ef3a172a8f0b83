/**
 * The browser's side of /api/v1 for the review pages: typed calls, retries that reuse the
 * same body (so a retried submit keeps its client id), and the shapes the routes answer.
 */

export type { ClaimedItemJson as ClaimedItem, TopPrediction } from '@/lib/review/claimed-item';

export interface ReviewerStats {
  decisionsToday: number;
  byAction: Record<'confirm' | 'correct' | 'skip' | 'unsure', number>;
  medianSeconds: number | null;
  since: string;
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; code: string; message: string };

const RETRY_DELAYS_MS = [400, 1200, 3000];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls the API; a network failure or a 5xx is retried with the very same body, which is safe
 * because every write the review pages send is idempotent (client ids) or a compare-and-set.
 */
export async function callApi<T>(
  path: string,
  init: { method?: 'GET' | 'POST' | 'PUT'; body?: unknown; retries?: number } = {},
): Promise<ApiResult<T>> {
  const retries = init.retries ?? RETRY_DELAYS_MS.length;
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  for (let attempt = 0; ; attempt++) {
    let response: Response | null = null;
    try {
      response = await fetch(path, {
        method: init.method ?? (body ? 'POST' : 'GET'),
        headers: body ? { 'content-type': 'application/json' } : undefined,
        body,
        cache: 'no-store',
      });
    } catch {
      response = null;
    }
    if (response && response.status < 500) {
      const json = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      if (response.ok) return { ok: true, data: json as T };
      return {
        ok: false,
        status: response.status,
        code: json?.error?.code ?? 'unknown',
        message: json?.error?.message ?? `The server answered ${response.status}.`,
      };
    }
    if (attempt >= retries) {
      return response
        ? {
            ok: false,
            status: response.status,
            code: 'internal',
            message: 'The server could not do this; it was logged. Try again in a moment.',
          }
        : {
            ok: false,
            status: 0,
            code: 'network',
            message: 'The server cannot be reached; check the connection and try again.',
          };
    }
    await sleep(RETRY_DELAYS_MS[attempt] ?? 3000);
  }
}

/**
 * Gives held items back while the page goes away: a keepalive request outlives the page,
 * and carries the session cookie like any same-origin fetch.
 */
export function releaseOnExit(itemIds: number[]): void {
  if (itemIds.length === 0) return;
  void fetch('/api/v1/queue/release', {
    method: 'POST',
    keepalive: true,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ itemIds }),
  }).catch(() => {});
}

/** A client id for an idempotent submit; `crypto.randomUUID` needs a secure context, so fall back. */
export function newClientId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function itemImageUrl(itemId: number): string {
  return `/api/v1/items/${itemId}/image`;
}

/** Warms the browser cache so the next item's image shows at once (the route allows caching). */
export function preloadImage(itemId: number): void {
  const image = new Image();
  image.src = itemImageUrl(itemId);
}

/** The longest duration the API accepts; longer means the reviewer walked away. */
export const MAX_DURATION_MS = 3_600_000;

export function elapsedSince(start: number): number {
  return Math.min(MAX_DURATION_MS, Math.max(0, Math.round(performance.now() - start)));
}

export const HEARTBEAT_MS = 45_000;

/**
 * The class `key` picks under the catalogue's key map (one key or null per class, from
 * lib/review/class-keys.ts: the admin's map or the default 1-9, 0, then letters), or null.
 * Letters match in either case, as the map stores them in lower case.
 */
export function classForKey(keys: readonly (string | null)[], key: string): number | null {
  if (key.length !== 1) return null;
  const index = keys.indexOf(key.toLowerCase());
  return index === -1 ? null : index;
}

/** A key as its key cap shows it: letters in capitals, like the S, U and Z shortcuts. */
export function keyLabel(key: string): string {
  return key.toUpperCase();
}
