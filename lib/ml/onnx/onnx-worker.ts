/**
 * Worker-thread entry for ONNX Runtime scoring (lib/ml/onnx/worker-client.ts): the only thread
 * of the process that loads onnxruntime-node (its addon is not safe to load in several threads
 * of one process, onnxruntime issue #24486: a second load once aborted a worker with
 * "terminate called after throwing an instance of 'Napi::Error'"). It keeps one session per
 * model folder and thread count and answers requests one at a time, urgent ones first, so the
 * thread that asked (the worker's job loops, a training) keeps running while ONNX Runtime
 * computes. Started by worker-client.ts only; it is not a process entry point.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { onnxFileFor, onnxPrecisionFor } from '@/lib/ml/onnx/precision';
import { createOnnxLogitsModel, MAX_ONNX_SESSIONS, ONNX_BATCH, type OnnxLogitsModel } from '@/lib/ml/onnx/session';
import type { TestTimeAugmentation } from '@/lib/ml/predict';
import { loadOnnxRuntime } from '@/lib/ml/scorer';

/** `urgent`: new items waiting to be scored; a re-score's chunks are `background` and wait for them. */
export type OnnxPriority = 'urgent' | 'background';

export type OnnxWorkerRequest =
  | { type: 'probe'; id: number }
  /** Which sessions are loaded, least recently used first ("threads:modelDir"). */
  | { type: 'sessions'; id: number }
  | {
      type: 'predict';
      id: number;
      modelDir: string;
      /** Intra-op threads of the session that runs it. */
      threads: number;
      priority: OnnxPriority;
      /** Transferred (not copied) by the parent. */
      pixels: Uint8Array;
      count: number;
      batchSize?: number;
      testTimeAugmentation?: TestTimeAugmentation;
    }
  | { type: 'warm'; id: number; modelDir: string; threads: number }
  | { type: 'release'; modelDir: string };

export type OnnxWorkerMessage =
  | { id: number; type: 'probed'; version: string }
  | { id: number; type: 'sessions'; keys: string[] }
  | { id: number; type: 'ready' }
  | { id: number; type: 'progress'; done: number }
  | { id: number; type: 'done'; logits: Float32Array }
  | { id: number; type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('lib/ml/onnx/onnx-worker.ts must be started as a worker thread.');

interface Loaded {
  model: OnnxLogitsModel;
  testTimeAugmentation: TestTimeAugmentation | undefined;
}

/** Least recently used first; at most MAX_ONNX_SESSIONS between requests. */
const sessions = new Map<string, Promise<Loaded>>();

/** Disposes the least recently used sessions beyond MAX_ONNX_SESSIONS (run between requests). */
async function evictIdleSessions(): Promise<void> {
  while (sessions.size > MAX_ONNX_SESSIONS) {
    const [key, loaded] = sessions.entries().next().value!;
    sessions.delete(key);
    await loaded.then(({ model }) => model.dispose()).catch(() => {});
  }
}

/**
 * The model file (float32, or int8 by lib/ml/onnx/precision.ts) and its mirror-averaging
 * choice, read directly: this thread imports neither TensorFlow.js (model-store.ts) nor the
 * exporter (~140 MB of resident memory between them). A folder without the file (exported on
 * first use, normally by the caller) loads the exporter.
 */
async function readModelFiles(
  modelDir: string,
): Promise<{ bytes: Uint8Array; testTimeAugmentation?: TestTimeAugmentation }> {
  const meta = JSON.parse(fs.readFileSync(path.join(modelDir, 'meta.json'), 'utf8')) as {
    testTimeAugmentation?: TestTimeAugmentation;
    int8?: unknown;
  };
  const precision = onnxPrecisionFor(meta);
  const file = path.join(modelDir, onnxFileFor(precision));
  if (fs.existsSync(file)) return { bytes: fs.readFileSync(file), testTimeAugmentation: meta.testTimeAugmentation };
  const files = await import('@/lib/ml/onnx/model-file');
  const exported = precision === 'int8' ? files.ensureInt8OnnxModel(modelDir) : files.ensureOnnxModel(modelDir);
  return {
    bytes: (exported ?? files.ensureOnnxModel(modelDir)).bytes,
    testTimeAugmentation: meta.testTimeAugmentation,
  };
}

function sessionFor(modelDir: string, threads: number) {
  const key = `${threads}:${modelDir}`;
  let loaded = sessions.get(key);
  // Used now: to the end of the map's order, the last to be evicted.
  if (loaded) {
    sessions.delete(key);
    sessions.set(key, loaded);
  } else {
    loaded = (async () => {
      const ort = await loadOnnxRuntime();
      const { bytes, testTimeAugmentation } = await readModelFiles(modelDir);
      const model = await createOnnxLogitsModel(ort, bytes, { threads });
      return { model, testTimeAugmentation };
    })();
    loaded.catch(() => sessions.delete(key));
    sessions.set(key, loaded);
  }
  return loaded;
}

function send(message: OnnxWorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function predict(request: Extract<OnnxWorkerRequest, { type: 'predict' }>): Promise<void> {
  const { id } = request;
  try {
    const { model, testTimeAugmentation } = await sessionFor(request.modelDir, request.threads);
    send({ id, type: 'ready' });
    const logits = await model.predictLogits(request.pixels, request.count, {
      batchSize: request.batchSize,
      testTimeAugmentation: request.testTimeAugmentation ?? testTimeAugmentation,
      onProgress: (done) => send({ id, type: 'progress', done }),
    });
    send({ id, type: 'done', logits }, [logits.buffer as ArrayBuffer]);
  } catch (error) {
    // Errors do not survive structured cloning with their class; the message is what the caller reports.
    send({ id, type: 'error', message: messageOf(error) });
  }
}

/** Loads the session and runs one blank batch, so the first real request does not pay for either. */
async function warm(request: Extract<OnnxWorkerRequest, { type: 'warm' }>): Promise<void> {
  try {
    const { model } = await sessionFor(request.modelDir, request.threads);
    await model.predictLogits(new Uint8Array(ONNX_BATCH * 784), ONNX_BATCH, { testTimeAugmentation: 'none' });
    send({ id: request.id, type: 'done', logits: new Float32Array(0) });
  } catch (error) {
    send({ id: request.id, type: 'error', message: messageOf(error) });
  }
}

async function probe(id: number): Promise<void> {
  try {
    const ort = await loadOnnxRuntime();
    send({ id, type: 'probed', version: ort.env.versions?.node ?? 'unknown version' });
  } catch (error) {
    send({ id, type: 'error', message: messageOf(error) });
  }
}

// One request at a time (memory stays flat; a second one waits instead of interleaving its
// batches); among those waiting, urgent ones go first, each kind in arrival order.
type Work = () => Promise<void>;
const urgent: Work[] = [];
const background: Work[] = [];
let busy = false;

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (let next = urgent.shift() ?? background.shift(); next; next = urgent.shift() ?? background.shift()) {
      await next();
      await evictIdleSessions();
    }
  } finally {
    busy = false;
  }
}

port.on('message', (request: OnnxWorkerRequest) => {
  if (request.type === 'release') {
    const released = [...sessions.entries()].filter(([key]) => key.endsWith(`:${request.modelDir}`));
    for (const [key] of released) sessions.delete(key);
    background.push(async () => {
      for (const [, loaded] of released) await loaded.then(({ model }) => model.dispose()).catch(() => {});
    });
  } else if (request.type === 'probe') urgent.push(() => probe(request.id));
  else if (request.type === 'sessions')
    urgent.push(async () => send({ id: request.id, type: 'sessions', keys: [...sessions.keys()] }));
  else if (request.type === 'warm') urgent.push(() => warm(request));
  else (request.priority === 'urgent' ? urgent : background).push(() => predict(request));
  void drain();
});
