/**
 * Child process of the `score` benchmark (scripts/bench/score.ts): starts as the worker does,
 * fills a temp database with unscored items, tells its parent (IPC) when scoring starts so that
 * the parent samples this process's resident memory during scoring only, scores and routes them
 * with scoreUnscoredItems, and sends the figures back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { readIdxSplit } from '@/lib/formats/idx';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
// What the worker process loads (its job handlers, TensorFlow.js's modules among them), for its memory.
import '@/lib/worker/handlers';
import { prepareScoring } from '@/lib/worker/scoring-lane';
import { fillUnscoredCatalogue } from '@/scripts/bench/score-fixture';

export interface ScoreRunInput {
  count: number;
  modelDir: string;
  datasetDir: string;
}

export type ScoreRunMessage =
  | { type: 'scoring' }
  | {
      type: 'done';
      scorer: string;
      startupSeconds: number;
      /** Resident memory once started, before the fixture is written. */
      startupRssMb: number;
      fillSeconds: number;
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
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-score-'));
try {
  const db = openDb(path.join(dir, 'bench.db'));
  migrateDb(db);
  let started = performance.now();
  const { scorer } = await prepareScoring({ db });
  const startupSeconds = (performance.now() - started) / 1000;
  const startupRssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
  started = performance.now();
  const { images, labels } = readIdxSplit(input.datasetDir, 't10k');
  const { catalogueId } = fillUnscoredCatalogue(db, {
    count: input.count,
    images: images.pixels,
    imageCount: images.count,
    labels,
    modelDir: input.modelDir,
  });
  const fillSeconds = (performance.now() - started) / 1000;
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
    fillSeconds,
    seconds,
    cpuSeconds,
    mainThreadCpuSeconds: mainThreadCpu,
    result,
    statuses,
  });
  db.$client.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
