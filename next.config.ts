import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Native addons and TensorFlow.js (which loads .wasm files from its package folder) are
  // required at run time from node_modules rather than bundled.
  serverExternalPackages: [
    'better-sqlite3',
    'sharp',
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-node',
  ],
  poweredByHeader: false,
  // Separate build folders let the end-to-end suite build beside a running `npm start`.
  distDir: process.env.LOUPE_NEXT_DIST_DIR ?? '.next',
};

export default nextConfig;
