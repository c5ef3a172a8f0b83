import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The PostgreSQL suite (tests/pg/): `npm run test:pg` with LOUPE_TEST_DATABASE_URL naming a
// server it may create databases on; .ci/run starts a private one.
const reportDir = process.env.LOUPE_TEST_REPORT_DIR;

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/pg/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: path.join(reportDir, 'pg.json') } : undefined,
  },
});
