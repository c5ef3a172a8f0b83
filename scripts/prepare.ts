import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues } from '@/db/schema';
import { getEnv } from '@/lib/env';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { seedDemoIfEmpty, seedDemoUsersIfNone } from '@/lib/seed';

/**
 * The part of `npm start` before serving (also `npm run seed`): migrate, seed the demo
 * catalogue and demo users on an empty database, and score what is unscored.
 */
export async function prepareDatabase(log: (line: string) => void): Promise<void> {
  const db = getDb();
  migrateDb(db);
  log(`database ${getEnv().LOUPE_DB}`);
  if (await seedDemoIfEmpty(db, log)) log('seeded the demo catalogue');
  const demoUsers = await seedDemoUsersIfNone(db);
  if (demoUsers.length > 0) {
    log('created demo users (demo only: change or disable them before real use):');
    for (const user of demoUsers) log(`  ${user.role.padEnd(8)} ${user.email}  password: ${user.password}`);
  }
  for (const catalogue of db.select().from(catalogues).all()) {
    const result = await scoreUnscoredItems(db, {
      catalogueId: catalogue.id,
      onProgress: (done, total) =>
        process.stdout.isTTY && process.stdout.write(`\r[start] ${catalogue.slug}: scoring ${done}/${total}`),
    });
    if (result.scored > 0 && process.stdout.isTTY) process.stdout.write('\n');
    if (result.scored > 0)
      log(`${catalogue.slug}: ${result.autoAccepted} auto-accepted, ${result.needsReview} to review`);
  }
}
