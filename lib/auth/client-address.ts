import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * Which address a request came from, as far as the server can vouch for it. X-Forwarded-For is
 * written by whoever sends the request, so it is believed only hop by hop from the right, and
 * only while the hop that appended it is a configured proxy (LOUPE_TRUSTED_PROXIES): a client
 * talking to Loupe directly gets its socket address, whatever header it sends.
 */

/** Strips the IPv4-mapped IPv6 prefix Node reports for IPv4 peers on a dual-stack socket. */
function normalise(address: string): string {
  const trimmed = address.trim();
  return trimmed.toLowerCase().startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}

export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(normalise(address), family);
    else list.addSubnet(normalise(address), Number(prefix), family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address: the socket's peer, unless the peer is a trusted proxy, in which case
 * the X-Forwarded-For entry it appended, and so on leftwards while proxies are trusted. An
 * entry that is not an IP address ends the walk at the hop that sent it.
 */
export function resolveClientAddress(input: {
  peer: string | null | undefined;
  forwardedFor: string | string[] | null | undefined;
  trustedProxies: BlockList;
}): string | null {
  if (!input.peer) return null;
  let client = normalise(input.peer);
  const header = Array.isArray(input.forwardedFor) ? input.forwardedFor.join(',') : (input.forwardedFor ?? '');
  const hops = header
    .split(',')
    .map(normalise)
    .filter((hop) => hop.length > 0);
  while (isTrusted(input.trustedProxies, client) && hops.length > 0) {
    const previous = hops.pop()!;
    if (isIP(previous) === 0) break;
    client = previous;
  }
  return client;
}

/**
 * For the web server (scripts/serve-web.ts), before Next sees the request: replaces
 * X-Forwarded-For with the one address resolved above, so the app reads a vouched-for value.
 * Next itself keeps a client's X-Forwarded-For as sent and adds the socket address only when
 * the header is absent, which is why the header is rewritten here and not trusted there.
 */
export function stampClientAddress(request: IncomingMessage, trustedProxies: BlockList): string | null {
  const client = resolveClientAddress({
    peer: request.socket.remoteAddress,
    forwardedFor: request.headers['x-forwarded-for'],
    trustedProxies,
  });
  if (client) request.headers['x-forwarded-for'] = client;
  else delete request.headers['x-forwarded-for'];
  return client;
}

/** The address the sign-in limits key on: the first X-Forwarded-For entry as stamped above. */
export function addressFromHeaders(headers: Record<string, unknown> | Headers | undefined): string | null {
  const value = headers instanceof Headers ? headers.get('x-forwarded-for') : headers?.['x-forwarded-for'];
  const first = typeof value === 'string' ? value.split(',')[0]?.trim() : undefined;
  return first || null;
}
