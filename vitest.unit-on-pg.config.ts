import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The unit suite again with its databases on PostgreSQL (tests/pg/unit-on-pg.setup.ts): part of
// .ci/run, which sets LOUPE_TEST_REPORT_DIR to count it in its summary line.
const reportDir = process.env.LOUPE_TEST_REPORT_DIR;

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/security/**/*.test.ts'],
    globalSetup: ['tests/pg/unit-on-pg.global-setup.ts'],
    setupFiles: ['tests/pg/unit-on-pg.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: path.join(reportDir, 'unit-pg.json') } : undefined,
  },
});
