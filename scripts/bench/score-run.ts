/**
 * Child process of the `score` benchmark (scripts/bench/score.ts): starts as the worker does on
 * the database its parent filled with unscored items, tells its parent (IPC) when scoring starts so that
 * the parent samples this process's resident memory during scoring only, scores and routes them
 * with scoreUnscoredItems, and sends the figures back.
 */
import fs from 'node:fs';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
// What the worker process loads (its job handlers, TensorFlow.js's modules among them), for its memory.
import '@/lib/worker/handlers';
import { prepareScoring } from '@/lib/worker/scoring-lane';

export interface ScoreRunInput {
  /** A database the parent filled (lib/bench/score-fixture.ts), so this process holds nothing of that. */
  dbFile: string;
  catalogueId: number;
}

export type ScoreRunMessage =
  | { type: 'scoring' }
  | {
      type: 'done';
      scorer: string;
      startupSeconds: number;
      /** Resident memory once started (scorer chosen and warmed up). */
      startupRssMb: number;
      seconds: number;
      /** CPU seconds of the whole process (every thread) while it scored, and of its main thread. */
      cpuSeconds: number;
      mainThreadCpuSeconds: number | null;
      result: Awaited<ReturnType<typeof scoreUnscoredItems>>;
      statuses: Record<string, number>;
    };

/** CPU time of this process's main thread (Linux: /proc/self/task/<pid>/stat), null elsewhere. */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

const input = JSON.parse(process.argv[2]!) as ScoreRunInput;
const send = (message: ScoreRunMessage) =>
  new Promise<void>((resolve, reject) =>
    process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );
const db = openDb(input.dbFile);
await migrateDb(db);
const catalogueId = input.catalogueId;
try {
  // The catalogue and its active model are there: the worker's start warms the scorer up on it.
  let started = performance.now();
  const { scorer } = await prepareScoring({ db });
  const startupSeconds = (performance.now() - started) / 1000;
  const startupRssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
  await send({ type: 'scoring' });
  started = performance.now();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuSeconds();
  const result = await scoreUnscoredItems(db, { catalogueId });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const mainThreadCpu = mainCpu === null ? null : mainThreadCpuSeconds()! - mainCpu;
  const statuses = Object.fromEntries(
    (
      db.$client.prepare('select status, count(*) n from items group by status').all() as {
        status: string;
        n: number;
      }[]
    ).map((row) => [row.status, row.n]),
  );
  await send({
    type: 'done',
    scorer: scorer.description,
    startupSeconds,
    startupRssMb,
    seconds,
    cpuSeconds,
    mainThreadCpuSeconds: mainThreadCpu,
    result,
    statuses,
  });
} finally {
  db.$client.close();
}
process.exit(0);
