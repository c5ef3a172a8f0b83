/**
 * The security headers of every response (next.config.ts) and the per-request Content-Security-
 * Policy of pages (proxy.ts). No imports: next.config.ts loads this file before the app exists.
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
 * Without a nonce (every response, from next.config.ts): scripts from this origin and inline,
 * which Next's App Router needs for its inline data scripts. With a nonce (pages, from
 * proxy.ts): only scripts carrying it, and what they load ('strict-dynamic'); Next puts the
 * nonce on its own scripts when it finds it in the request's CSP header. A page gets both
 * headers and the browser enforces both, so the nonce one decides. React DOM and Recharts set
 * inline styles. The dev server evaluates modules with eval().
 */
export function contentSecurityPolicy(options: { nonce?: string; dev?: boolean } = {}): string {
  const eval_ = options.dev ? " 'unsafe-eval'" : '';
  const scripts = options.nonce
    ? `script-src 'self' 'nonce-${options.nonce}' 'strict-dynamic'${eval_}`
    : `script-src 'self' 'unsafe-inline'${eval_}`;
  return [DIRECTIVES[0], scripts, ...DIRECTIVES.slice(1)].join('; ');
}

export function securityHeaders(options: { dev?: boolean } = {}): { key: string; value: string }[] {
  return [
    { key: 'Content-Security-Policy', value: contentSecurityPolicy(options) },
    { key: 'X-Frame-Options', value: 'DENY' },
    { key: 'X-Content-Type-Options', value: 'nosniff' },
    { key: 'Referrer-Policy', value: 'same-origin' },
    { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
    { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  ];
}
