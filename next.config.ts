import type { NextConfig } from 'next';

const isDev = process.env.NODE_ENV === 'development';

/**
 * The Content-Security-Policy of every response. Next's App Router inlines the scripts that
 * carry the page's data (self.__next_f.push(...)), so script-src needs 'unsafe-inline' unless
 * every page renders per request with a nonce from proxy.ts; Loupe's pages are dynamic, so a
 * nonce is the next step, but 'self' + inline already shuts out scripts from anywhere else,
 * plugins, <base> hijacks, form posts elsewhere and framing. React DOM and Recharts set inline
 * styles. The dev server evaluates modules with eval() and talks over a same-origin WebSocket.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${isDev ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS = [
  { key: 'Content-Security-Policy', value: CONTENT_SECURITY_POLICY },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
];

const nextConfig: NextConfig = {
  // Native addons and TensorFlow.js (which loads .wasm files from its package folder) are
  // required at run time from node_modules rather than bundled.
  serverExternalPackages: [
    'better-sqlite3',
    'sharp',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-node',
    // The ONNX export (model downloads) and ONNX Runtime (a native addon).
    'onnx-proto',
    'onnxruntime-node',
  ],
  poweredByHeader: false,
  // Separate build folders let the end-to-end suite build beside a running `npm start`.
  distDir: process.env.LOUPE_NEXT_DIST_DIR ?? '.next',
  experimental: {
    // forbidden() from next/navigation: pages a role may not open answer 403 (lib/http/page-auth.ts).
    authInterrupts: true,
    serverActions: {
      // Next's default, said explicitly: proxy.ts answers a larger declared body with 413 and
      // a sentence before Next's own check (which answers 500) and uses the same figure
      // (SERVER_ACTION_BODY_MAX_BYTES in lib/http/request-guard.ts). Uploads go through
      // POST /api/v1/imports, which has its own limit.
      bodySizeLimit: '1mb',
    },
  },
  async headers() {
    return [{ source: '/:path*', headers: SECURITY_HEADERS }];
  },
};

export default nextConfig;
