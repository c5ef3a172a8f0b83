import { defineConfig } from 'drizzle-kit';

// Only generation reads this; the app applies migrations itself (db/migrate.ts).
export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema/index.ts',
  out: './db/migrations',
  dbCredentials: { url: process.env.LOUPE_DB ?? 'data/loupe.db' },
  strict: true,
  verbose: true,
});
