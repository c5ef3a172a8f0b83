/**
 * Child process of the `score` benchmark's import-to-scored figure (scripts/bench/score.ts): the
 * worker's situation during a retraining. Its main thread trains the cnn (tfjs, as a retraining
 * does, its steps blocking the event loop) while the scoring lane runs as in the worker; once the
 * training is under way, 2,000 items are imported, and the figure is the time from their commit
 * to the last one's prediction (its created_at) and to the score job's end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { readIdxSplit } from '@/lib/formats/idx';
import { importItems } from '@/lib/import';
import { initBackend } from '@/lib/ml/backend';
import { WORKER_HANDLERS } from '@/lib/worker/handlers';
import { createScoringLane, prepareScoring } from '@/lib/worker/scoring-lane';
import { measureTraining } from '@/scripts/bench/measure';
import { fillUnscoredCatalogue } from '@/scripts/bench/score-fixture';

export interface DuringTrainingInput {
  items: number;
  modelDir: string;
  datasetDir: string;
}

export interface DuringTrainingFigures {
  items: number;
  /** Import committed -> the last new item's prediction written. */
  importToScoredSeconds: number;
  /** Import committed -> the score job recorded as done. */
  importToJobDoneSeconds: number;
  /** The training's own rate meanwhile, and how long one step held the event loop. */
  trainingImagesPerSecond: number;
  trainingStepSeconds: number;
  trainingRanThroughout: boolean;
}

const input = JSON.parse(process.argv[2]!) as DuringTrainingInput;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-score-training-'));
try {
  const db = openDb(path.join(dir, 'bench.db'));
  await migrateDb(db);
  const { images, labels } = readIdxSplit(input.datasetDir, 't10k');
  // The catalogue and its model, nothing unscored yet; the worker starts (scorer warmed up).
  const { catalogueId } = await fillUnscoredCatalogue(db, {
    count: 0,
    images: images.pixels,
    imageCount: images.count,
    labels,
    modelDir: input.modelDir,
  });
  await prepareScoring({ db });
  await initBackend();
  const lane = createScoringLane({ db, handlers: WORKER_HANDLERS, leaseMs: 30_000, pollMs: 3_000, log: () => {} });
  const laneRunning = lane.run();
  let steps = 0;
  let trainingDone = false;
  let importedAt = 0;
  const training = measureTraining({
    arch: 'cnn',
    numClasses: 10,
    // The t10k images (the repository carries them; the training split may be absent): 70 steps of 128.
    steps: 70,
    warmupSteps: 0,
    batchSize: 128,
    train: { pixels: images.pixels, labels, count: images.count },
    onBatch: () => {
      steps++;
      // After a few steps: the training is under way, as it would be when an upload lands.
      if (steps === 3) {
        void importItems(db, {
          catalogueSlug: 'score-bench',
          kind: 'idx',
          source: 'during-training',
          items: Array.from({ length: input.items }, (_, i) => ({
            pixels: images.pixels.subarray((i % images.count) * 784, ((i % images.count) + 1) * 784),
            label: null,
            sourceRow: i,
          })),
        }).then(() => {
          importedAt = Date.now();
        });
      }
    },
  }).finally(() => (trainingDone = true));
  const sqlite = db.$client;
  const unscored = sqlite.prepare("select count(*) n from items where catalogue_id = ? and status = 'unscored'");
  // Checked on the training's own rhythm (timers wait behind its steps, the database does not).
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (importedAt > 0 && (unscored.get(catalogueId) as { n: number }).n === 0) break;
    if (trainingDone && importedAt === 0) throw new Error('The training ended before the import.');
  }
  const lastPrediction = (sqlite.prepare('select max(created_at) t from predictions').get() as { t: number }).t;
  const jobDone = (
    sqlite.prepare("select max(finished_at) t from jobs where kind = 'score' and status = 'succeeded'").get() as {
      t: number | null;
    }
  ).t;
  const trainingRanThroughout = !trainingDone;
  const figures = await training;
  lane.stop();
  await laneRunning;
  const result: DuringTrainingFigures = {
    items: input.items,
    importToScoredSeconds: (lastPrediction - importedAt) / 1000,
    importToJobDoneSeconds: jobDone === null ? -1 : (jobDone - importedAt) / 1000,
    trainingImagesPerSecond: Math.round(figures.imagesPerSecond),
    trainingStepSeconds: Number((128 / figures.imagesPerSecond).toFixed(3)),
    trainingRanThroughout,
  };
  process.send!(result);
  db.$client.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
await new Promise((resolve) => setTimeout(resolve, 100));
process.exit(0);
