import { dialectOf, getDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { getEnv } from '@/lib/env';
import { scoreEveryCatalogue } from '@/lib/routing/score-catalogues';
import { seedDemoIfEmpty, seedDemoUsersIfNone, seedDigitsDemo } from '@/lib/seed';

/** Where the process's database is, for the log: the SQLite file, or the server and database without the password. */
function databaseName(db: Db): string {
  const env = getEnv();
  if (dialectOf(db) === 'sqlite') return env.LOUPE_DB;
  const url = new URL(env.LOUPE_DATABASE_URL!);
  return `PostgreSQL ${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname} (user ${decodeURIComponent(url.username) || 'default'})`;
}

/**
 * The part of `npm start` before serving (also `npm run seed`): migrate, seed the demo
 * catalogues (Fashion-MNIST, MNIST digits) and demo users on an empty database, and score what
 * is unscored.
 */
export async function prepareDatabase(log: (line: string) => void): Promise<void> {
  const db = getDb();
  await migrateDb(db);
  log(`database ${databaseName(db)}`);
  if (await seedDemoIfEmpty(db, log)) log('seeded the demo catalogue');
  if (await seedDigitsDemo(db, { log })) log('seeded the digits demo catalogue');
  const demoUsers = await seedDemoUsersIfNone(db);
  if (demoUsers.length > 0) {
    log('created demo users (demo only: change or disable them before real use):');
    for (const user of demoUsers) log(`  ${user.role.padEnd(8)} ${user.email}  password: ${user.password}`);
  }
  // A catalogue without an active model (the Import page makes one) is skipped with a line
  // saying so: it must never stop a start.
  let scoringLine = false;
  await scoreEveryCatalogue(db, {
    onProgress: (slug, done, total) => {
      if (!process.stdout.isTTY) return;
      process.stdout.write(`\r[start] ${slug}: scoring ${done}/${total}`);
      scoringLine = true;
    },
    onCatalogue: (outcome) => {
      if (scoringLine) process.stdout.write('\n');
      scoringLine = false;
      if (outcome.skipped)
        log(`${outcome.catalogue}: not scored, ${outcome.reason} (${outcome.unscored} unscored items)`);
      else if (outcome.result.scored > 0)
        log(
          `${outcome.catalogue}: ${outcome.result.autoAccepted} auto-accepted, ${outcome.result.needsReview} to review`,
        );
    },
  });
}
