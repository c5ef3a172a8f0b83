import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations, generated from the schema derived from SQLite's (db/pg/schema.ts).
// Only generation reads this; the app applies migrations itself (db/migrate.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/pg/schema.ts',
  out: './db/migrations-pg',
  strict: true,
  verbose: true,
});
