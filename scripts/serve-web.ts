import { createServer } from 'node:http';
import next from 'next';
import { stampClientAddress, trustedProxyList } from '@/lib/auth/client-address';
import { getEnv } from '@/lib/env';
import { answerJsonRoute } from '@/lib/http/node-json-routes';
import { REVIEW_HOT_ROUTES } from '@/lib/review/api-routes';

/**
 * The production web server: `next start` with one thing added in front. Next keeps a client's
 * X-Forwarded-For as sent (it adds the socket address only when the header is absent), so a
 * route handler cannot tell a real client address from a claimed one, and a new claimed value
 * walked around the per-address sign-in limit. Here, where the socket is known, the header is
 * rewritten to the address the server can vouch for (LOUPE_TRUSTED_PROXIES decides which
 * proxies' entries count) before Next sees the request. And the review queue's hot routes
 * (claim, submit, the grid's, leases) are answered here without Next when the session cookie
 * was checked by Next within the last few seconds (lib/http/node-json-routes.ts says why).
 *
 * Run from its bundle, which the web build makes beside Next's (scripts/lib/web-build.ts):
 * node [--max-old-space-size=MB] .next/loupe-serve-web.mjs [-p port] [--hostname host] [--keepAliveTimeout ms]
 */
function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

const port = Number(option('-p', process.env.PORT ?? '3000'));
const hostname = option('--hostname', '0.0.0.0');
const keepAliveTimeout = Number(option('--keepAliveTimeout', '5000'));
const trustedProxies = trustedProxyList(getEnv().LOUPE_TRUSTED_PROXIES);
const directRoutes = getEnv().LOUPE_QUEUE_ROUTES === 'direct';

const app = next({ dev: false, dir: process.cwd(), hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

const server = createServer((request, response) => {
  stampClientAddress(request, trustedProxies);
  if (!directRoutes) return void handle(request, response);
  // A failure inside a route is answered there; one before it (the session read) goes to Next,
  // which answers it the way it answers any other request.
  void answerJsonRoute(REVIEW_HOT_ROUTES, request, response).then(
    (answered) => {
      if (!answered) void handle(request, response);
    },
    () => void handle(request, response),
  );
});
server.keepAliveTimeout = keepAliveTimeout;
// Node's headersTimeout must exceed keepAliveTimeout, or idle sockets are cut mid-request.
server.headersTimeout = keepAliveTimeout + 1000;
server.listen(port, hostname, () => {
  console.log(`[web] ready on http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
