import path from 'node:path';
import { defineConfig } from 'vitest/config';

// The unit suite with its databases on PostgreSQL: a progress meter for issue 20
// (tests/pg/unit-on-pg.setup.ts). Not part of npm test or CI: most files still fail there.
export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/security/**/*.test.ts'],
    setupFiles: ['tests/pg/unit-on-pg.setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
