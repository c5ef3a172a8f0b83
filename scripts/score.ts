import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues } from '@/db/schema';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { runCli } from '@/scripts/cli';

/** `npm run score`: scores and routes every unscored item of every catalogue. */
await runCli(async () => {
  const db = getDb();
  migrateDb(db);
  for (const catalogue of db.select().from(catalogues).all()) {
    const result = await scoreUnscoredItems(db, {
      catalogueId: catalogue.id,
      onProgress: (done, total) => process.stderr.write(`\r${catalogue.slug}: scored ${done}/${total}`),
    });
    if (result.scored > 0) process.stderr.write('\n');
    console.log(JSON.stringify({ catalogue: catalogue.slug, ...result }));
  }
});
