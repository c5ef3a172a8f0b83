/** Types of ./next.config.mjs (JavaScript: see there why), for the tests that read it. */
import type { NextConfig } from 'next';

declare const nextConfig: NextConfig;
export default nextConfig;
