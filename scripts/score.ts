import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { scoreEveryCatalogue } from '@/lib/routing/score-catalogues';
import { runCli } from '@/scripts/cli';

/**
 * `npm run score`: scores and routes every unscored item of every catalogue that has an active
 * model; one without is reported with `skipped: true`, not an error.
 */
await runCli(async () => {
  const db = getDb();
  await migrateDb(db);
  await scoreEveryCatalogue(db, {
    onProgress: (slug, done, total) => process.stderr.write(`\r${slug}: scored ${done}/${total}`),
    onCatalogue: (outcome) => {
      if (!outcome.skipped && outcome.result.scored > 0) process.stderr.write('\n');
      if (outcome.skipped) process.stderr.write(`${outcome.catalogue}: not scored, ${outcome.reason}\n`);
      console.log(JSON.stringify(outcome.skipped ? outcome : { catalogue: outcome.catalogue, ...outcome.result }));
    },
  });
});
