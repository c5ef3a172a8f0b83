/**
 * Worker-thread entry for predictLogitsInOnnxWorker: scores the images it is sent with its
 * own ONNX Runtime session, so that the thread that asked (training, say) keeps running.
 * Started by lib/ml/onnx/worker-client.ts only; it is not a process entry point.
 */
import { parentPort } from 'node:worker_threads';
import { readModelMeta } from '@/lib/ml/model-store';
import { ensureOnnxModel } from '@/lib/ml/onnx/model-file';
import { createOnnxLogitsModel } from '@/lib/ml/onnx/session';
import { loadOnnxRuntime } from '@/lib/ml/scorer';

export interface OnnxWorkerRequest {
  modelDir: string;
  /** Transferred (not copied) by the parent. */
  pixels: Uint8Array;
  count: number;
  threads: number;
  batchSize?: number;
}

export type OnnxWorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; done: number }
  | { type: 'done'; logits: Float32Array }
  | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('lib/ml/onnx/onnx-worker.ts must be started as a worker thread.');

function send(message: OnnxWorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

port.once('message', (request: OnnxWorkerRequest) => {
  void (async () => {
    try {
      const ort = await loadOnnxRuntime();
      const meta = readModelMeta(request.modelDir);
      const model = await createOnnxLogitsModel(ort, ensureOnnxModel(request.modelDir).bytes, {
        threads: request.threads,
      });
      send({ type: 'ready' });
      try {
        const logits = await model.predictLogits(request.pixels, request.count, {
          batchSize: request.batchSize,
          testTimeAugmentation: meta.testTimeAugmentation,
          onProgress: (done) => send({ type: 'progress', done }),
        });
        send({ type: 'done', logits }, [logits.buffer as ArrayBuffer]);
      } finally {
        await model.dispose();
      }
    } catch (error) {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
