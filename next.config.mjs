import { securityHeaders } from './lib/http/security-headers.mjs';

/**
 * JavaScript, not TypeScript: with next.config.ts Next loads its SWC compiler into the production
 * server (26 MB resident) only to compile this file at start (docs/operations.md, the queue).
 *
 * @type {import('next').NextConfig}
 */
const nextConfig = {
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
    // Pages also get a nonce-based CSP from proxy.ts (lib/http/security-headers.mjs says why both).
    return [{ source: '/:path*', headers: securityHeaders({ dev: process.env.NODE_ENV === 'development' }) }];
  },
};

export default nextConfig;
