import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { getEnv } from '@/lib/env';

try {
  await migrateDb(getDb());
  console.log(`migrated ${getEnv().LOUPE_DB}`);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
