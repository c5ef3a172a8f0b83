import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Native addons and TensorFlow.js (which loads .wasm files from its package folder) are
  // required at run time from node_modules rather than bundled.
  serverExternalPackages: ['better-sqlite3', 'sharp', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node'],
  poweredByHeader: false,
};

export default nextConfig;
