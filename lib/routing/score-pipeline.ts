import type { Statement } from 'better-sqlite3';
import { sql, type SQL } from 'drizzle-orm';
import { dialectOf, lockRows, pgExecute, withSqlite, withTransaction, type Db } from '@/db/client';
import { settings, type ModelVersion } from '@/db/schema';
import { softmaxRows } from '@/lib/ml/calibration';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { Classifier } from '@/lib/ml/classifier';
import { predictLogitsInOnnxWorker, type OnnxPriority } from '@/lib/ml/onnx/worker-client';
import { effectiveWorkers, predictLogitsParallel } from '@/lib/ml/parallel-predict';
import { getScorer } from '@/lib/ml/scorer';
import { getRoutingRules, routeImportLabel, routeItem, type RoutingRules } from '@/lib/routing/rules';

/**
 * Items read, predicted and written per round. Large enough that ONNX Runtime's batches stay
 * full and per-round costs vanish, small enough that a round's buffers stay a few MB.
 */
export const SCORE_CHUNK = 8192;
/** Items written per transaction, so the web server's writes never wait long (~10 ms each). */
export const SCORE_WRITE_BATCH = 2048;

/** Seconds spent in each part of the path (main thread), and the scoring thread's own time. */
export interface ScoreTimings {
  /** Reading the unscored items' pixels and columns (prepared statement, raw rows). */
  readSeconds: number;
  /** Waiting for logits: the prediction not hidden behind reading and writing. */
  predictWaitSeconds: number;
  /** Requests in the scoring thread, sent to answered (ONNX Runtime; overlaps the rest). */
  predictSeconds: number;
  /** Softmax with the version's temperature, top-1/top-2, the stored probability text. */
  calibrateSeconds: number;
  /** Routing each item by the catalogue's rules (JavaScript, in the write transaction). */
  routeSeconds: number;
  /** Inserting predictions and updating items, commits included (triggers keep the queue). */
  writeSeconds: number;
  chunks: number;
}

export interface ScoreResult {
  /** Items routed (gold items not included). */
  scored: number;
  autoAccepted: number;
  needsReview: number;
  modelVersionId: number;
  /** Gold items given their prediction (what reviewers see), never routed. */
  gold: number;
  timings?: ScoreTimings;
}

/** One round of unscored items in columns: no object per item. */
interface Chunk {
  count: number;
  ids: Float64Array;
  pixels: Uint8Array;
  /** 1: labelled at import (keeps its label), 0: unlabelled. */
  imported: Uint8Array;
  /** The import label, -1 for none. */
  labels: Int16Array;
  gold: Uint8Array;
  lastId: number;
}

interface Statements {
  read: Statement;
  insertPrediction: Statement;
  markGold: Statement;
  routeModel: Statement;
  routeImport: Statement;
}

const prepared = new WeakMap<object, Statements>();

/** The path's statements, prepared once per connection. Every write repeats the read's conditions. */
function statementsOf(db: Db): Statements {
  let statements = prepared.get(db.$client);
  if (!statements) {
    const sqlite = db.$client;
    const notHuman = `(label_source is null or label_source <> 'human')`;
    statements = {
      // items_catalogue_status_idx (catalogue_id, status, id) walks exactly these rows in id order.
      read: sqlite
        .prepare(
          `select id, pixels, label_source, current_label, eval_role from items
           where catalogue_id = ? and status = 'unscored' and ${notHuman} and id > ? order by id limit ?`,
        )
        .raw(true),
      insertPrediction: sqlite.prepare(
        `insert into predictions (item_id, model_version_id, probs, predicted_class, confidence, margin)
         values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
      ),
      // Gold items keep their known label and stay out of routing: the prediction is only what a
      // reviewer is shown when one is mixed into the queue.
      markGold: sqlite.prepare(
        `update items set status = 'reviewed' where id = ? and status = 'unscored' and eval_role = 'gold'`,
      ),
      routeModel: sqlite.prepare(
        `update items set status = ?, routing_reason = ?, current_label = ?, label_source = 'model'
         where id = ? and status = 'unscored' and ${notHuman}`,
      ),
      routeImport: sqlite.prepare(
        `update items set status = ?, routing_reason = ? where id = ? and status = 'unscored' and ${notHuman}`,
      ),
    };
    prepared.set(sqlite, statements);
  }
  return statements;
}

type ChunkRow = [id: number, pixels: Buffer, labelSource: string | null, label: number | null, evalRole: string | null];

function chunkOf(rows: Iterable<ChunkRow>, afterId: number, size: number): Chunk {
  const chunk: Chunk = {
    count: 0,
    ids: new Float64Array(size),
    pixels: new Uint8Array(size * PIXELS_PER_IMAGE),
    imported: new Uint8Array(size),
    labels: new Int16Array(size),
    gold: new Uint8Array(size),
    lastId: afterId,
  };
  for (const row of rows) {
    const i = chunk.count++;
    chunk.ids[i] = row[0];
    chunk.pixels.set(row[1], i * PIXELS_PER_IMAGE);
    chunk.imported[i] = row[2] === 'import' ? 1 : 0;
    chunk.labels[i] = row[3] ?? -1;
    chunk.gold[i] = row[4] === 'gold' ? 1 : 0;
    chunk.lastId = row[0];
  }
  return chunk;
}

function readChunk(statements: Statements, catalogueId: number, afterId: number, size: number): Chunk {
  return chunkOf(statements.read.iterate(catalogueId, afterId, size) as Iterable<ChunkRow>, afterId, size);
}

/**
 * The same reads and writes on PostgreSQL, one statement each through the transaction's handle
 * (the SQLite statements above are better-sqlite3's own, prepared once per connection). Slower:
 * a round trip per row, where SQLite's are calls into the same process.
 */
const NOT_HUMAN = sql`(label_source is null or label_source <> 'human')`;

async function readChunkPg(db: Db, catalogueId: number, afterId: number, size: number): Promise<Chunk> {
  const { rows } = await pgExecute(
    db,
    sql`select id, pixels, label_source, current_label, eval_role from items
      where catalogue_id = ${catalogueId} and status = 'unscored' and ${NOT_HUMAN} and id > ${afterId}
      order by id limit ${size}`,
  );
  const tuples = rows.map((r) => [r.id, r.pixels, r.label_source, r.current_label, r.eval_role] as unknown as ChunkRow);
  return chunkOf(tuples, afterId, size);
}

/** The four writes of a scored row; each returns the rows it changed. */
interface BatchWrites {
  /** Writes what the calls collected, where a database writes a batch at once (PostgreSQL). */
  flush?(): Promise<void>;
  insertPrediction(
    id: number,
    modelId: number,
    probs: string,
    predictedClass: number,
    confidence: number,
    margin: number,
  ): Promise<number> | number;
  markGold(id: number): Promise<number> | number;
  routeModel(status: string, reason: string | null, predictedClass: number, id: number): Promise<number> | number;
  routeImport(status: string, reason: string | null, id: number): Promise<number> | number;
}

function sqliteWrites(statements: Statements): BatchWrites {
  return {
    insertPrediction: (...args) => statements.insertPrediction.run(...args).changes,
    markGold: (id) => statements.markGold.run(id).changes,
    routeModel: (...args) => statements.routeModel.run(...args).changes,
    routeImport: (...args) => statements.routeImport.run(...args).changes,
  };
}

/**
 * PostgreSQL: the batch's calls are collected and written by `flush` as four set-based
 * statements (arrays bound as one parameter each, unnest), predictions first so that the items
 * trigger finds the active model's prediction. Each call's count comes back from the RETURNING ids.
 */
function postgresWrites(tx: Db): BatchWrites & { flush(): Promise<void> } {
  const predictions = {
    ids: [] as number[],
    probs: [] as string[],
    classes: [] as number[],
    conf: [] as number[],
    margin: [] as number[],
  };
  let modelVersionId = 0;
  const gold: number[] = [];
  const model = {
    ids: [] as number[],
    statuses: [] as string[],
    reasons: [] as (string | null)[],
    classes: [] as number[],
  };
  const imported = { ids: [] as number[], statuses: [] as string[], reasons: [] as (string | null)[] };
  const waiting = new Map<number, (rows: number) => void>();
  const later = (id: number) => new Promise<number>((resolve) => waiting.set(id, resolve));
  const settle = (changed: Set<number>, ids: number[]) => {
    for (const id of ids) waiting.get(id)?.(changed.has(id) ? 1 : 0);
  };
  const changedIds = async (query: SQL) =>
    new Set((await pgExecute<{ id: number }>(tx, query)).rows.map((row) => row.id));
  return {
    insertPrediction: (id, modelId, probs, predictedClass, confidence, margin) => {
      modelVersionId = modelId;
      predictions.ids.push(id);
      predictions.probs.push(probs);
      predictions.classes.push(predictedClass);
      predictions.conf.push(confidence);
      predictions.margin.push(margin);
      return 1;
    },
    markGold: (id) => {
      gold.push(id);
      return later(id);
    },
    routeModel: (status, reason, predictedClass, id) => {
      model.ids.push(id);
      model.statuses.push(status);
      model.reasons.push(reason);
      model.classes.push(predictedClass);
      return later(id);
    },
    routeImport: (status, reason, id) => {
      imported.ids.push(id);
      imported.statuses.push(status);
      imported.reasons.push(reason);
      return later(id);
    },
    async flush() {
      const p = predictions;
      if (p.ids.length > 0)
        await pgExecute(
          tx,
          sql`insert into predictions (item_id, model_version_id, probs, predicted_class, confidence, margin)
            select v.id, ${modelVersionId}, v.probs, v.cls, v.conf, v.margin
            from unnest(${sql.param(p.ids)}::bigint[], ${sql.param(p.probs)}::text[], ${sql.param(p.classes)}::bigint[],
              ${sql.param(p.conf)}::float8[], ${sql.param(p.margin)}::float8[]) as v(id, probs, cls, conf, margin)
            on conflict do nothing`,
        );
      if (gold.length > 0)
        settle(
          await changedIds(sql`update items set status = 'reviewed' from unnest(${sql.param(gold)}::bigint[]) as v(id)
            where items.id = v.id and items.status = 'unscored' and items.eval_role = 'gold' returning items.id`),
          gold,
        );
      if (model.ids.length > 0)
        settle(
          await changedIds(sql`update items set status = v.status, routing_reason = v.reason, current_label = v.cls,
              label_source = 'model'
            from unnest(${sql.param(model.ids)}::bigint[], ${sql.param(model.statuses)}::text[],
              ${sql.param(model.reasons)}::text[], ${sql.param(model.classes)}::bigint[]) as v(id, status, reason, cls)
            where items.id = v.id and items.status = 'unscored' and ${NOT_HUMAN} returning items.id`),
          model.ids,
        );
      if (imported.ids.length > 0)
        settle(
          await changedIds(sql`update items set status = v.status, routing_reason = v.reason
            from unnest(${sql.param(imported.ids)}::bigint[], ${sql.param(imported.statuses)}::text[],
              ${sql.param(imported.reasons)}::text[]) as v(id, status, reason)
            where items.id = v.id and items.status = 'unscored' and ${NOT_HUMAN} returning items.id`),
          imported.ids,
        );
    },
  };
}

/** Calibrated rows in the stored form: probability text (6 decimals), class, confidence, margin. */
interface Calibrated {
  probs: string[];
  classes: Uint8Array;
  confidence: Float64Array;
  margin: Float64Array;
}

function calibrate(logits: Float32Array, count: number, k: number, temperature: number): Calibrated {
  const p = softmaxRows(logits, k, temperature);
  const out: Calibrated = {
    probs: new Array<string>(count),
    classes: new Uint8Array(count),
    confidence: new Float64Array(count),
    margin: new Float64Array(count),
  };
  const parts = new Array<number>(k);
  for (let i = 0; i < count; i++) {
    const row = i * k;
    let first = 0;
    for (let j = 1; j < k; j++) if (p[row + j]! > p[row + first]!) first = j;
    let second = -1;
    for (let j = 0; j < k; j++) if (j !== first && (second < 0 || p[row + j]! > p[row + second]!)) second = j;
    for (let j = 0; j < k; j++) parts[j] = Number(p[row + j]!.toFixed(6));
    out.probs[i] = JSON.stringify(parts);
    out.classes[i] = first;
    out.confidence[i] = p[row + first]!;
    out.margin[i] = p[row + first]! - (second < 0 ? 0 : p[row + second]!);
  }
  return out;
}

const seconds = (since: number) => (performance.now() - since) / 1000;

/**
 * Scores every unscored item of a catalogue with `model` and routes it: the whole path, built to
 * keep both cores busy. Items are read in rounds of SCORE_CHUNK by one prepared statement into
 * flat arrays; while the scoring thread predicts one round, this thread writes the previous one
 * and reads the next; writes are prepared statements in immediate transactions of
 * SCORE_WRITE_BATCH items, each reading the routing rules inside itself (a threshold change
 * commits either before a batch, and is read there, or after it, and re-routes what it wrote).
 * Labels from humans are never overwritten; an item that came with a label keeps it and goes to
 * review only when the model disagrees, otherwise it is accepted.
 */
export async function scoreUnscoredInRounds(
  db: Db,
  input: {
    catalogueId: number;
    model: Pick<ModelVersion, 'id' | 'weightsPath' | 'temperature'>;
    classifier: Classifier;
    /** Items already unscored when the run started, for progress. */
    total: number;
    priority?: OnnxPriority;
    onProgress?: (done: number, total: number) => void;
    chunkSize?: number;
  },
): Promise<ScoreResult & { timings: ScoreTimings }> {
  const { catalogueId, model, classifier } = input;
  const k = classifier.meta.classNames.length;
  const onPostgres = dialectOf(db) === 'postgres';
  const statements = onPostgres ? null : await withSqlite(db, () => statementsOf(db));
  const scorer = await getScorer();
  const size = input.chunkSize ?? SCORE_CHUNK;
  const timings: ScoreTimings = {
    readSeconds: 0,
    predictWaitSeconds: 0,
    predictSeconds: 0,
    calibrateSeconds: 0,
    routeSeconds: 0,
    writeSeconds: 0,
    chunks: 0,
  };
  const result = { scored: 0, autoAccepted: 0, needsReview: 0, modelVersionId: model.id, gold: 0, timings };

  const read = async (afterId: number) => {
    const started = performance.now();
    const chunk = statements
      ? await withSqlite(db, () => readChunk(statements, catalogueId, afterId, size))
      : await readChunkPg(db, catalogueId, afterId, size);
    timings.readSeconds += seconds(started);
    return chunk;
  };
  const predict = (chunk: Chunk): Promise<Float32Array> => {
    const started = performance.now();
    const done = (logits: Float32Array) => {
      timings.predictSeconds += seconds(started);
      return logits;
    };
    if (scorer.name === 'onnx')
      // The round's pixels move to the scoring thread (no copy); this thread never needs them again.
      return predictLogitsInOnnxWorker({
        modelDir: model.weightsPath,
        pixels: chunk.pixels.subarray(0, chunk.count * PIXELS_PER_IMAGE),
        count: chunk.count,
        threads: scorer.threads ?? 1,
        priority: input.priority ?? 'urgent',
        transfer: chunk.count === size,
        testTimeAugmentation: classifier.meta.testTimeAugmentation,
      }).then(done);
    return (
      effectiveWorkers(chunk.count) > 1
        ? predictLogitsParallel({ modelDir: model.weightsPath, pixels: chunk.pixels, count: chunk.count })
        : classifier.predictLogits(chunk.pixels, chunk.count)
    ).then(done);
  };
  const write = async (chunk: Chunk, logits: Float32Array) => {
    let started = performance.now();
    const calibrated = calibrate(logits, chunk.count, k, model.temperature);
    timings.calibrateSeconds += seconds(started);
    for (let from = 0; from < chunk.count; from += SCORE_WRITE_BATCH) {
      started = performance.now();
      const to = Math.min(chunk.count, from + SCORE_WRITE_BATCH);
      await withTransaction(
        db,
        async (tx) => {
          // A threshold change waits for this batch (and re-routes what it wrote), or committed first and is read here.
          await lockRows(tx, { table: settings, column: settings.catalogueId, value: catalogueId, mode: 'share' });
          const rules = await getRoutingRules(tx, catalogueId);
          // Inside the transaction: on SQLite this call chain holds the connection, so the
          // better-sqlite3 statements run in the transaction.
          const writes = statements ? sqliteWrites(statements) : postgresWrites(tx);
          await writeBatch({ rules, writes, modelId: model.id, chunk, calibrated, from, to, result });
        },
        // Each write's WHERE carries what it was decided on (still unscored, not a human's label).
        { behavior: 'locking' },
      );
      timings.writeSeconds += seconds(started);
    }
    timings.chunks++;
    input.onProgress?.(result.scored + result.gold, input.total);
  };

  let chunk = await read(0);
  let previous: { chunk: Chunk; logits: Float32Array } | null = null;
  while (chunk.count > 0) {
    const logits = predict(chunk);
    // Both happen while the scoring thread predicts this round.
    if (previous) await write(previous.chunk, previous.logits);
    const next = chunk.count === size ? await read(chunk.lastId) : null;
    const started = performance.now();
    previous = { chunk, logits: await logits };
    timings.predictWaitSeconds += seconds(started);
    if (!next) break;
    chunk = next;
  }
  if (previous) await write(previous.chunk, previous.logits);
  timings.writeSeconds -= timings.routeSeconds;
  for (const key of Object.keys(timings) as (keyof ScoreTimings)[])
    if (key !== 'chunks') timings[key] = Number(timings[key].toFixed(3));
  return result;
}

/**
 * Writes a scored batch: each row's prediction, then its routing by the catalogue's rules. On
 * SQLite every write returns at once and nothing is awaited; on PostgreSQL the writes are sent
 * one after the other on the transaction's connection without waiting for each answer (the
 * connection runs them in order), and the counts are taken when they have all answered.
 */
function writeBatch(input: {
  rules: RoutingRules;
  writes: BatchWrites;
  modelId: number;
  chunk: Chunk;
  calibrated: Calibrated;
  from: number;
  to: number;
  result: ScoreResult & { timings: ScoreTimings };
}): Promise<void> | void {
  const { rules, writes, chunk, calibrated, result } = input;
  const pending: Promise<unknown>[] = [];
  const whenDone = (changed: number | Promise<number>, count: (rows: number) => void) => {
    if (typeof changed === 'number') count(changed);
    else pending.push(changed.then(count));
  };
  let routeSeconds = 0;
  for (let i = input.from; i < input.to; i++) {
    const id = chunk.ids[i]!;
    const predictedClass = calibrated.classes[i]!;
    const confidence = calibrated.confidence[i]!;
    whenDone(
      writes.insertPrediction(
        id,
        input.modelId,
        calibrated.probs[i]!,
        predictedClass,
        confidence,
        calibrated.margin[i]!,
      ),
      () => {},
    );
    if (chunk.gold[i]) {
      whenDone(writes.markGold(id), (rows) => (result.gold += rows));
      continue;
    }
    const started = performance.now();
    const imported = chunk.imported[i] === 1;
    const label = chunk.labels[i]! < 0 ? null : chunk.labels[i]!;
    const { status, reason } = imported
      ? routeImportLabel(label, predictedClass)
      : routeItem({ itemId: id, predictedClass, confidence }, rules);
    routeSeconds += seconds(started);
    const changed = imported
      ? writes.routeImport(status, reason, id)
      : writes.routeModel(status, reason, predictedClass, id);
    whenDone(changed, (rows) => {
      if (rows === 0) return;
      result.scored++;
      if (status === 'auto_accepted') result.autoAccepted++;
      else result.needsReview++;
    });
  }
  result.timings.routeSeconds += routeSeconds;
  if (writes.flush) pending.push(writes.flush());
  if (pending.length > 0) return Promise.all(pending).then(() => {});
}
