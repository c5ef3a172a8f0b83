/**
 * The security headers of every response (next.config.mjs) and the per-request Content-Security-
 * Policy of pages (proxy.ts). Plain JavaScript with no imports: next.config.mjs loads this file
 * before the app exists, and a TypeScript config would make Next load its SWC compiler (26 MB
 * resident) into the production server only to read the config (docs/operations.md).
 * Types: ./security-headers.d.mts.
 */

const DIRECTIVES = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/**
 * Without a nonce (every response, from next.config.mjs): scripts from this origin and inline,
 * which Next's App Router needs for its inline data scripts. With a nonce (pages, from
 * proxy.ts): only scripts carrying it, and what they load ('strict-dynamic'); Next puts the
 * nonce on its own scripts when it finds it in the request's CSP header. A page gets both
 * headers and the browser enforces both, so the nonce one decides. React DOM and Recharts set
 * inline styles. The dev server evaluates modules with eval().
 *
 * @param {{ nonce?: string; dev?: boolean }} [options]
 * @returns {string}
 */
export function contentSecurityPolicy(options = {}) {
  const eval_ = options.dev ? " 'unsafe-eval'" : '';
  const scripts = options.nonce
    ? `script-src 'self' 'nonce-${options.nonce}' 'strict-dynamic'${eval_}`
    : `script-src 'self' 'unsafe-inline'${eval_}`;
  return [DIRECTIVES[0], scripts, ...DIRECTIVES.slice(1)].join('; ');
}

/**
 * @param {{ dev?: boolean }} [options]
 * @returns {{ key: string; value: string }[]}
 */
export function securityHeaders(options = {}) {
  return [
    { key: 'Content-Security-Policy', value: contentSecurityPolicy(options) },
    { key: 'X-Frame-Options', value: 'DENY' },
    { key: 'X-Content-Type-Options', value: 'nosniff' },
    { key: 'Referrer-Policy', value: 'same-origin' },
    { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
    { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  ];
}
