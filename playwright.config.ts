import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { E2E, e2eServerEnv } from './tests/e2e/e2e-env';

/**
 * End-to-end tests in Debian's Chromium against the real server: `npm start` itself, on a
 * fresh database under data/e2e, its own build folder and port. One worker: the machine has
 * two cores and the server needs them.
 */
const reportDir = process.env.LOUPE_TEST_REPORT_DIR;

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: reportDir ? [['list'], ['json', { outputFile: path.join(reportDir, 'e2e.json') }]] : [['list']],
  use: {
    baseURL: E2E.baseUrl,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.LOUPE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    // A fresh database every run; LOUPE_REBUILD so the build never lags behind the code
    // (set LOUPE_E2E_REUSE_BUILD=1 to skip the build while iterating on tests only).
    command: `rm -rf ${E2E.dataDir} && npx tsx scripts/start.ts`,
    env: e2eServerEnv(),
    url: `${E2E.baseUrl}/api/v1/health`,
    timeout: 8 * 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
