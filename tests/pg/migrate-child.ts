/** Child process for tests/pg/database.test.ts: migrates the database at argv[2], then exits. */
import { closeDb, openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';

const url = process.argv[2];
if (!url) throw new Error('usage: migrate-child <postgres url>');
const db = openDb(url);
await migrateDb(db);
await closeDb(db);
