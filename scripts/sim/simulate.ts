import { randomUUID } from 'node:crypto';
import type { ExportRow } from '@/lib/catalogue/export';
import type { ClaimedItemJson as ClaimedItem } from '@/lib/review/claimed-item';
import { encodeIdxImages } from '@/lib/formats/idx';
import { AppError } from '@/lib/errors';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createRng } from '@/lib/ml/random';
import type { Credentials } from '@/scripts/sim/fresh-loupe';
import { LoupeApiError, LoupeClient } from '@/scripts/sim/http-client';
import { measureCatalogue, percentile, simulatedAnswer, type CatalogueMeasure } from '@/scripts/sim/metrics';

/** The images the simulator streams in, with the ground truth it keeps to itself. */
export interface SimStream {
  /** Names the stream in the report, e.g. "fashion-mnist t10k". */
  name: string;
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export type ThresholdMode =
  { mode: 'keep' } | { mode: 'fixed'; threshold: number } | { mode: 'target'; targetAccuracy: number };

export interface SimulationOptions {
  baseUrl: string;
  catalogue: string;
  admin: Credentials;
  reviewers: Credentials[];
  stream: SimStream;
  /** The stream is imported in this many equal chunks, `batchIntervalMs` apart; 0: it is already in the catalogue. */
  batches: number;
  batchIntervalMs: number;
  errorRate: number;
  /** How long a simulated reviewer looks at an item before answering. */
  thinkMs: number;
  threshold: ThresholdMode;
  /** Stop after this many human decisions (confirm or correct); unset: when the work is done. */
  maxDecisions?: number;
  /** Stop after this long whatever remains. */
  maxDurationMs: number;
  sampleEveryMs: number;
  seed: number;
  /** The base model's answer for each stream image, when the caller could compute it (fresh mode). */
  baseModelPredictions?: Uint8Array;
  log: (line: string) => void;
}

export interface TimelinePoint extends CatalogueMeasure {
  /** Seconds since the simulation started. */
  t: number;
  imported: number;
  humanDecisions: number;
  activeModel: string | null;
  activeModelHoldoutAccuracy: number | null;
  threshold: number | null;
}

/** A model version as the simulation saw it: when it appeared and when it became active. */
export interface ModelEvent {
  name: string;
  /** Seconds into the run when the version was first listed. */
  seenAt: number;
  /** When it was first seen active (the base model: at the start); null if never. */
  activeAt: number | null;
  /** The latest status and figures listed. */
  status: string;
  holdoutAccuracy: number | null;
  gateReason: string | null;
}

export interface SimulationResult {
  scenario: {
    baseUrl: string;
    catalogue: string;
    stream: string;
    streamItems: number;
    batches: number;
    reviewers: number;
    errorRate: number;
    thinkMs: number;
    threshold: ThresholdMode;
    maxDecisions: number | null;
    seed: number;
  };
  timeline: TimelinePoint[];
  models: ModelEvent[];
  thresholdChanges: { t: number; threshold: number; reason: string }[];
  queueApi: {
    /** Every claim, including those that found the queue empty for the moment. */
    claims: number;
    emptyClaims: number;
    submits: number;
    claimMsP50: number | null;
    claimMsP99: number | null;
    submitMsP50: number | null;
    submitMsP99: number | null;
    lostHolds: number;
    errors: number;
    errorSamples: string[];
  };
  summary: {
    stoppedBecause: 'done' | 'decision budget' | 'time limit';
    seconds: number;
    items: number;
    catalogueAccuracy: number | null;
    humanDecisions: number;
    corrections: number;
    reviewerSlips: number;
    reviewedShare: number | null;
    autoAcceptedAccuracy: number | null;
    /** The base model's answers on the whole stream with no human and no retraining. */
    modelAloneAccuracy: number | null;
    modelAloneSource: 'base model on every stream image' | 'first predictions seen' | null;
    /**
     * The last active model's answers on the whole catalogue. Not out of sample: fine-tuned
     * versions trained on (80% of) the human-labelled items; their holdout figure is.
     */
    finalModelAccuracy: number | null;
    modelVersionsPromoted: number;
    finalModel: string | null;
    finalModelHoldoutAccuracy: number | null;
  };
}

interface ModelSummaryAnswer {
  versions: {
    id: number;
    name: string;
    status: string;
    holdout: { accuracy: number } | null;
    gateReason: string | null;
  }[];
}

/** Stream chunk files are named so the export's `source` says which rows of the stream they hold. */
function chunkName(index: number): string {
  return `sim-stream-${String(index + 1).padStart(3, '0')}-images-idx3-ubyte`;
}

/**
 * Runs one closed-loop simulation against a running Loupe, through its HTTP API only: the
 * admin imports the stream chunk by chunk and watches; each simulated reviewer is its own
 * signed-in client that claims, waits `thinkMs`, and answers with the true label (wrong with
 * probability `errorRate`). The worker scores, retrains and promotes as it would in
 * production. Every `sampleEveryMs` the admin exports the catalogue and measures it against
 * the ground truth.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const { log, stream } = options;
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const admin = new LoupeClient(options.baseUrl);
  await admin.signIn(options.admin.email, options.admin.password);

  const chunkSize = Math.ceil(stream.count / Math.max(1, options.batches));
  const chunkOffsets = new Map<string, number>();
  const truthByItem = new Map<number, number>();
  const firstPrediction = new Map<number, { model: string; predicted: number }>();
  const slug = encodeURIComponent(options.catalogue);

  const readCatalogue = async (): Promise<{ rows: ExportRow[]; activeModel: string | null }> => {
    const exported = await admin.get<{ activeModel: string | null; items: ExportRow[] }>(
      `/api/v1/catalogues/${slug}/export?format=json`,
    );
    for (const row of exported.items) {
      if (!truthByItem.has(row.itemId)) {
        const offset = streamOffset(row.source, chunkOffsets);
        if (offset !== undefined && offset + row.sourceRow < stream.count)
          truthByItem.set(row.itemId, stream.labels[offset + row.sourceRow]!);
      }
      if (row.predictedClass !== null && row.modelVersion !== null && !firstPrediction.has(row.itemId)) {
        firstPrediction.set(row.itemId, { model: row.modelVersion, predicted: row.predictedClass });
      }
    }
    return { rows: exported.items, activeModel: exported.activeModel };
  };

  // --- the threshold, as an admin would set it --------------------------------------------
  const thresholdChanges: SimulationResult['thresholdChanges'] = [];
  let currentThreshold: number | null = null;
  const applyThreshold = async (reason: string): Promise<void> => {
    const { threshold } = options;
    if (threshold.mode === 'keep') return;
    const body =
      threshold.mode === 'fixed' ? { threshold: threshold.threshold } : { targetAccuracy: threshold.targetAccuracy };
    // Target mode needs the active model's holdout predictions (the worker's evaluate job):
    // until they exist the route answers 409, so ask again for a while.
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const answer = await admin.put<{ change: { threshold: number; entered: number; left: number } }>(
          `/api/v1/catalogues/${slug}/threshold`,
          body,
        );
        currentThreshold = answer.change.threshold;
        thresholdChanges.push({ t: elapsed(), threshold: currentThreshold, reason });
        log(
          `threshold ${currentThreshold} (${reason}): ${answer.change.entered} items entered the queue, ${answer.change.left} left it`,
        );
        return;
      } catch (error) {
        if (!(error instanceof LoupeApiError && error.status === 409) || Date.now() > deadline) throw error;
        await sleep(1000);
      }
    }
  };
  await applyThreshold('start');

  // --- shared state of the run -------------------------------------------------------------
  let stopReason: SimulationResult['summary']['stoppedBecause'] | null = null;
  let imported = 0;
  let importsDone = false;
  let humanDecisions = 0;
  let corrections = 0;
  let reviewerSlips = 0;
  let lostHolds = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const claimMs: number[] = [];
  let emptyClaims = 0;
  const submitMs: number[] = [];
  const noteError = (error: unknown) => {
    errors++;
    if (errorSamples.length < 10) errorSamples.push(error instanceof Error ? error.message : String(error));
  };

  // --- the stream ----------------------------------------------------------------------------
  const importer = (async () => {
    if (options.batches === 0) {
      // Nothing to import: the catalogue already holds the stream (a demo database's t10k items).
      await readCatalogue();
      imported = truthByItem.size;
      log(`no import: ${imported} catalogue items of the stream are already there`);
    }
    for (let index = 0; index < options.batches && stopReason === null; index++) {
      const from = index * chunkSize;
      const count = Math.min(chunkSize, stream.count - from);
      if (count <= 0) break;
      const name = chunkName(index);
      chunkOffsets.set(name, from);
      const file = encodeIdxImages({
        count,
        rows: 28,
        cols: 28,
        pixels: stream.pixels.subarray(from * PIXELS_PER_IMAGE, (from + count) * PIXELS_PER_IMAGE),
      });
      const form = new FormData();
      form.set('catalogue', options.catalogue);
      form.set('kind', 'idx');
      form.set('file', new Blob([new Uint8Array(file)]), name);
      const answer = await admin.postForm<{ inserted: number; total: number }>('/api/v1/imports', form);
      imported += answer.total;
      await readCatalogue();
      log(
        `imported chunk ${index + 1}/${options.batches}: ${answer.inserted} new items (${imported} of ${stream.count})`,
      );
      if (index + 1 < options.batches) await sleepUnless(options.batchIntervalMs, () => stopReason !== null);
    }
    importsDone = true;
  })();

  // --- the reviewers ---------------------------------------------------------------------------
  const reviewer = async (credentials: Credentials, index: number) => {
    const client = new LoupeClient(options.baseUrl);
    await client.signIn(credentials.email, credentials.password);
    const random = createRng(options.seed * 1000 + index);
    while (stopReason === null) {
      let item: ClaimedItem | null;
      try {
        const t0 = performance.now();
        item = (
          await client.post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', {
            catalogue: options.catalogue,
            holding: [],
          })
        ).item;
        claimMs.push(performance.now() - t0);
      } catch (error) {
        noteError(error);
        await sleep(500);
        continue;
      }
      if (!item) {
        emptyClaims++;
        await sleep(500);
        continue;
      }
      let truth = truthByItem.get(item.itemId);
      if (truth === undefined) {
        await sleep(1000); // an item of a chunk whose export has not been read yet
        truth = truthByItem.get(item.itemId);
      }
      await sleep(options.thinkMs);
      const answer = truth === undefined ? null : simulatedAnswer(truth, 10, options.errorRate, random);
      // As on the review page: Enter confirms the model's answer when there is one for the
      // active model (none right after a promotion, until the re-score reaches the item);
      // otherwise the reviewer picks the class.
      const modelSays = item.modelVersionId === null ? null : item.predictedClass;
      const body =
        answer === null
          ? { itemId: item.itemId, action: 'skip' }
          : answer === modelSays
            ? { itemId: item.itemId, action: 'confirm' }
            : { itemId: item.itemId, action: 'correct', label: answer };
      try {
        const t0 = performance.now();
        await client.post('/api/v1/reviews', {
          ...body,
          clientId: randomUUID(),
          durationMs: options.thinkMs,
          modelVersionId: item.modelVersionId ?? undefined,
        });
        submitMs.push(performance.now() - t0);
        if (answer !== null) {
          humanDecisions++;
          if (body.action === 'correct') corrections++;
          if (answer !== truth) reviewerSlips++;
          if (options.maxDecisions !== undefined && humanDecisions >= options.maxDecisions)
            stopReason ??= 'decision budget';
        }
      } catch (error) {
        if (error instanceof LoupeApiError && error.status === 409) {
          lostHolds++;
        } else {
          noteError(error);
          // Give the item back, or the next claim serves this live hold again.
          await client.post('/api/v1/queue/release', { itemIds: [item.itemId] }).catch(noteError);
        }
      }
    }
  };
  const reviewers = options.reviewers.map((credentials, index) =>
    reviewer(credentials, index).catch((error: unknown) => {
      noteError(error);
    }),
  );

  // --- measuring ---------------------------------------------------------------------------
  const timeline: TimelinePoint[] = [];
  const models = new Map<string, ModelEvent>();
  let lastActive: string | null = null;
  let idleSamples = 0;
  const sample = async (): Promise<TimelinePoint> => {
    const [{ rows, activeModel }, list, jobs] = await Promise.all([
      readCatalogue(),
      admin.get<ModelSummaryAnswer>(`/api/v1/catalogues/${slug}/models`),
      admin.get<{ jobs: { status: string }[] }>(`/api/v1/jobs?catalogue=${slug}&limit=20`),
    ]);
    const t = elapsed();
    for (const version of [...list.versions].reverse()) {
      const known = models.get(version.name);
      const active = version.status === 'active';
      models.set(version.name, {
        name: version.name,
        seenAt: known?.seenAt ?? t,
        activeAt: known?.activeAt ?? (active ? t : null),
        status: version.status,
        holdoutAccuracy: version.holdout?.accuracy ?? null,
        gateReason: version.gateReason,
      });
    }
    const active = list.versions.find((v) => v.status === 'active');
    const measure = measureCatalogue(rows, (id) => truthByItem.get(id));
    const point: TimelinePoint = {
      t,
      imported,
      humanDecisions,
      ...measure,
      activeModel,
      activeModelHoldoutAccuracy: active?.holdout?.accuracy ?? null,
      threshold: currentThreshold,
    };
    timeline.push(point);
    const busy = jobs.jobs.some((job) => job.status === 'queued' || job.status === 'running');
    idleSamples = importsDone && measure.queueDepth === 0 && measure.unscored === 0 && !busy ? idleSamples + 1 : 0;
    if (lastActive !== null && activeModel !== lastActive) {
      log(`${activeModel} is now active (holdout ${formatShare(point.activeModelHoldoutAccuracy)})`);
      if (options.threshold.mode === 'target') await applyThreshold(`target after ${activeModel} was promoted`);
    }
    lastActive = activeModel;
    log(
      `t=${t.toFixed(0)}s imported ${imported}, decisions ${humanDecisions}, queue ${measure.queueDepth}, catalogue accuracy ${formatShare(measure.catalogueAccuracy)}, auto-accepted ${formatShare(measure.autoAcceptedAccuracy)}, model ${activeModel}`,
    );
    return point;
  };

  let failedSamples = 0;
  while (stopReason === null) {
    await sleepUnless(options.sampleEveryMs, () => stopReason !== null);
    if (stopReason !== null) break;
    try {
      await sample();
      failedSamples = 0;
    } catch (error) {
      noteError(error);
      // Loupe went away (or keeps failing): stop instead of waiting out the time limit.
      if (++failedSamples >= 5) {
        stopReason = 'time limit';
        throw new AppError(
          'internal',
          `the simulation stopped: measuring the catalogue failed 5 times in a row (last: ${error instanceof Error ? error.message : String(error)})`,
        );
      }
    }
    if (idleSamples >= 2) stopReason = 'done';
    else if (Date.now() - started > options.maxDurationMs) stopReason = 'time limit';
  }
  await Promise.all([importer.catch(noteError), ...reviewers]);
  const last = await sample();

  const modelAlone = modelAloneAccuracy(options, truthByItem, firstPrediction, imported);
  return {
    scenario: {
      baseUrl: options.baseUrl,
      catalogue: options.catalogue,
      stream: stream.name,
      streamItems: stream.count,
      batches: options.batches,
      reviewers: options.reviewers.length,
      errorRate: options.errorRate,
      thinkMs: options.thinkMs,
      threshold: options.threshold,
      maxDecisions: options.maxDecisions ?? null,
      seed: options.seed,
    },
    timeline,
    models: [...models.values()],
    thresholdChanges,
    queueApi: {
      claims: claimMs.length,
      emptyClaims,
      submits: submitMs.length,
      claimMsP50: round(percentile(claimMs, 50)),
      claimMsP99: round(percentile(claimMs, 99)),
      submitMsP50: round(percentile(submitMs, 50)),
      submitMsP99: round(percentile(submitMs, 99)),
      lostHolds,
      errors,
      errorSamples,
    },
    summary: {
      stoppedBecause: stopReason,
      seconds: Number(elapsed().toFixed(1)),
      items: last.items,
      catalogueAccuracy: last.catalogueAccuracy,
      humanDecisions,
      corrections,
      reviewerSlips,
      reviewedShare: last.reviewedShare,
      autoAcceptedAccuracy: last.autoAcceptedAccuracy,
      ...modelAlone,
      finalModelAccuracy: last.modelAccuracy,
      modelVersionsPromoted: [...models.values()].filter((m) => m.activeAt !== null).length - 1,
      finalModel: last.activeModel,
      finalModelHoldoutAccuracy: last.activeModelHoldoutAccuracy,
    },
  };
}

/**
 * What the model alone would have reached: the base model's answers on every imported stream
 * image when the caller computed them, else each item's first prediction the simulator saw
 * (the base model's, unless a promotion came before the item's chunk was read).
 */
function modelAloneAccuracy(
  options: SimulationOptions,
  truthByItem: Map<number, number>,
  firstPrediction: Map<number, { predicted: number }>,
  imported: number,
): Pick<SimulationResult['summary'], 'modelAloneAccuracy' | 'modelAloneSource'> {
  if (options.baseModelPredictions) {
    const count = Math.min(imported, options.stream.count);
    let correct = 0;
    for (let i = 0; i < count; i++) if (options.baseModelPredictions[i] === options.stream.labels[i]) correct++;
    return {
      modelAloneAccuracy: count > 0 ? correct / count : null,
      modelAloneSource: 'base model on every stream image',
    };
  }
  let total = 0;
  let correct = 0;
  for (const [itemId, truth] of truthByItem) {
    const first = firstPrediction.get(itemId);
    if (!first) continue;
    total++;
    if (first.predicted === truth) correct++;
  }
  return {
    modelAloneAccuracy: total > 0 ? correct / total : null,
    modelAloneSource: total > 0 ? 'first predictions seen' : null,
  };
}

/** Row offset in the stream of an export row's source (`<file name>#<hash>`), if it is one of ours. */
function streamOffset(source: string, chunkOffsets: Map<string, number>): number | undefined {
  const name = source.slice(0, source.lastIndexOf('#') >= 0 ? source.lastIndexOf('#') : source.length);
  if (chunkOffsets.has(name)) return chunkOffsets.get(name);
  // A demo database's catalogue is the t10k file itself (npm start's seed).
  if (name.startsWith('t10k-images-idx3-ubyte')) return 0;
  return undefined;
}

const round = (value: number | null) => (value === null ? null : Number(value.toFixed(1)));
const formatShare = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(2)}%`);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps up to `ms`, waking early once `stop()` turns true. */
async function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) await sleep(Math.min(250, end - Date.now()));
}
