/**
 * Worker-thread entry for ONNX Runtime scoring (lib/ml/onnx/worker-client.ts): keeps one
 * session per model folder and answers requests one at a time, so the thread that asked (the
 * worker's job loops, a training) keeps running while ONNX Runtime computes.
 * Started by worker-client.ts only; it is not a process entry point.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readModelMeta, type ModelMeta } from '@/lib/ml/model-store';
import { ensureOnnxModel } from '@/lib/ml/onnx/model-file';
import { createOnnxLogitsModel, type OnnxLogitsModel } from '@/lib/ml/onnx/session';
import type { TestTimeAugmentation } from '@/lib/ml/predict';
import { loadOnnxRuntime } from '@/lib/ml/scorer';

export interface OnnxWorkerData {
  /** Intra-op threads of every session this worker creates. */
  threads: number;
}

export type OnnxWorkerRequest =
  | {
      type: 'predict';
      id: number;
      modelDir: string;
      /** Transferred (not copied) by the parent. */
      pixels: Uint8Array;
      count: number;
      batchSize?: number;
      testTimeAugmentation?: TestTimeAugmentation;
    }
  | { type: 'release'; modelDir: string };

export type OnnxWorkerMessage =
  | { id: number; type: 'ready' }
  | { id: number; type: 'progress'; done: number }
  | { id: number; type: 'done'; logits: Float32Array }
  | { id: number; type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('lib/ml/onnx/onnx-worker.ts must be started as a worker thread.');
const { threads } = workerData as OnnxWorkerData;

const sessions = new Map<string, Promise<{ model: OnnxLogitsModel; meta: ModelMeta }>>();

function sessionFor(modelDir: string) {
  let loaded = sessions.get(modelDir);
  if (!loaded) {
    loaded = (async () => {
      const ort = await loadOnnxRuntime();
      const meta = readModelMeta(modelDir);
      const model = await createOnnxLogitsModel(ort, ensureOnnxModel(modelDir).bytes, { threads });
      return { model, meta };
    })();
    loaded.catch(() => sessions.delete(modelDir));
    sessions.set(modelDir, loaded);
  }
  return loaded;
}

function send(message: OnnxWorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function predict(request: Extract<OnnxWorkerRequest, { type: 'predict' }>): Promise<void> {
  const { id } = request;
  try {
    const { model, meta } = await sessionFor(request.modelDir);
    send({ id, type: 'ready' });
    const logits = await model.predictLogits(request.pixels, request.count, {
      batchSize: request.batchSize,
      testTimeAugmentation: request.testTimeAugmentation ?? meta.testTimeAugmentation,
      onProgress: (done) => send({ id, type: 'progress', done }),
    });
    send({ id, type: 'done', logits }, [logits.buffer as ArrayBuffer]);
  } catch (error) {
    // Errors do not survive structured cloning with their class; the message is what the caller reports.
    send({ id, type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

// One request at a time: a second one waits instead of interleaving its batches (memory stays flat).
let queue = Promise.resolve();
port.on('message', (request: OnnxWorkerRequest) => {
  if (request.type === 'release') {
    const loaded = sessions.get(request.modelDir);
    sessions.delete(request.modelDir);
    queue = queue.then(() => loaded?.then(({ model }) => model.dispose()).catch(() => {}));
    return;
  }
  queue = queue.then(() => predict(request));
});
