import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues } from '@/db/schema';
import { initBackend, wasmThreadCount } from '@/lib/ml/backend';
import { findActiveModel } from '@/lib/models';
import { scoreUnscoredItems } from '@/lib/scoring';
import { writeWorkerStatus } from '@/lib/worker-status';

/**
 * `npm run worker`: the background process beside the web server. For now it scores and
 * routes newly imported items; training jobs join it with the learning loop.
 */
const POLL_MS = 3000;
const db = getDb();
migrateDb(db);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping = true));
const backend = await initBackend();
const startedAt = new Date().toISOString();
console.error(`[worker] started on ${backend}`);

while (!stopping) {
  writeWorkerStatus({ pid: process.pid, backend, threads: wasmThreadCount(), startedAt, updatedAt: new Date().toISOString() });
  for (const catalogue of db.select().from(catalogues).all()) {
    if (!findActiveModel(db, catalogue.id)) continue;
    try {
      const result = await scoreUnscoredItems(db, { catalogueId: catalogue.id });
      if (result.scored > 0) console.error(`[worker] ${catalogue.slug}: scored ${result.scored} (${result.autoAccepted} auto-accepted, ${result.needsReview} to review)`);
    } catch (error) {
      console.error(`[worker] ${catalogue.slug}: scoring failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}
process.exit(0);
