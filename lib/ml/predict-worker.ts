/**
 * Worker-thread entry for predictLogitsParallel: loads its own copy of the model on its own
 * single-threaded backend, scores the shard of pixels it is sent, and sends the logits back.
 * Started by lib/ml/parallel-predict.ts only; it is not a process entry point.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend } from '@/lib/ml/backend';
import { loadModel } from '@/lib/ml/model-store';
import { predictLogits } from '@/lib/ml/predict';

export interface PredictShardRequest {
  modelDir: string;
  /** This shard's images only, transferred (not copied) by the parent. */
  pixels: Uint8Array;
  count: number;
  batchSize?: number;
}

export type PredictShardMessage =
  | { type: 'ready' }
  | { type: 'progress'; done: number }
  | { type: 'done'; logits: Float32Array; backend: string }
  | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('lib/ml/predict-worker.ts must be started as a worker thread.');

function send(message: PredictShardMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

port.once('message', (request: PredictShardRequest) => {
  void (async () => {
    try {
      const backend = await initBackend();
      const { model, meta } = await loadModel(request.modelDir);
      send({ type: 'ready' });
      try {
        const logits = await predictLogits(model, request.pixels, request.count, {
          batchSize: request.batchSize,
          testTimeAugmentation: meta.testTimeAugmentation,
          onProgress: (done) => send({ type: 'progress', done }),
        });
        send({ type: 'done', logits, backend }, [logits.buffer as ArrayBuffer]);
      } finally {
        model.dispose();
      }
    } catch (error) {
      // Errors do not survive structured cloning with their class; the message is what the caller reports.
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
