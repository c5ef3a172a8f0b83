/**
 * The queue benchmark's stand-in for the worker's WAL checkpoint: `checkpointWal` on the given
 * SQLite file every WAL_CHECKPOINT_MS, in a process of its own as the worker's is, until its
 * standard input closes (the bench's end, or the bench dying). In the load generator's process a
 * checkpoint, which is synchronous, stalled its event loop and every request due meanwhile was
 * sent late: the load generator's lag, not the server's, in the paced p99.
 *
 * Usage: tsx scripts/bench/wal-checkpointer.ts <database file>
 */
import { checkpointWal, openDb, WAL_CHECKPOINT_MS } from '@/db/client';

const file = process.argv[2];
if (!file) {
  console.error('usage: tsx scripts/bench/wal-checkpointer.ts <database file>');
  process.exit(1);
}
const db = openDb(file);
const timer = setInterval(() => {
  checkpointWal(db).catch((error: unknown) =>
    console.error(`wal-checkpointer: ${error instanceof Error ? error.message : String(error)}`),
  );
}, WAL_CHECKPOINT_MS);
process.stdin.resume();
process.stdin.on('close', () => {
  clearInterval(timer);
  db.$client.close();
  process.exit(0);
});
console.log('ready');
