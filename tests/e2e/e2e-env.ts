import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');
const port = Number(process.env.LOUPE_E2E_PORT ?? 3200);

/** Where the end-to-end server lives: shared by the config (which starts it) and the tests (which read its database). */
export const E2E = {
  port,
  baseUrl: `http://localhost:${port}`,
  dataDir: path.join(root, 'data', 'e2e'),
  dbPath: path.join(root, 'data', 'e2e', 'loupe.db'),
  distDir: '.next-e2e',
};

export function e2eServerEnv(): Record<string, string> {
  const env: Record<string, string> = {
    LOUPE_DB: E2E.dbPath,
    LOUPE_NEXT_DIST_DIR: E2E.distDir,
    PORT: String(E2E.port),
    NEXTAUTH_URL: E2E.baseUrl,
    NEXT_TELEMETRY_DISABLED: '1',
  };
  if (!process.env.LOUPE_E2E_REUSE_BUILD) env.LOUPE_REBUILD = '1';
  return env;
}
