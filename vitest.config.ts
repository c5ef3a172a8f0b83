import { defineConfig } from 'vitest/config';
import path from 'node:path';

// .ci/run sets LOUPE_TEST_REPORT_DIR to collect machine-readable results for its summary line.
const reportDir = process.env.LOUPE_TEST_REPORT_DIR;

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/security/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // tfjs backends are process-global; one file per worker process keeps them apart.
    pool: 'forks',
    reporters: reportDir ? ['default', 'json'] : ['default'],
    outputFile: reportDir ? { json: path.join(reportDir, 'unit.json') } : undefined,
  },
});
