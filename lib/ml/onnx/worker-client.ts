/**
 * ONNX Runtime scoring in a worker thread: ONNX Runtime's run blocks the thread that calls it,
 * so work that must leave its caller free (measuring the active model while this thread
 * trains) runs here, on one core.
 */
import { Worker } from 'node:worker_threads';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { OnnxWorkerMessage, OnnxWorkerRequest } from '@/lib/ml/onnx/onnx-worker';

const WORKER_URL = new URL('./onnx-worker.mjs', import.meta.url);

export async function predictLogitsInOnnxWorker(options: {
  modelDir: string;
  pixels: Uint8Array;
  count: number;
  /** Intra-op threads of the worker's session; default 1 (the caller keeps the other core). */
  threads?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  onReady?: (workers: number) => void;
}): Promise<Float32Array> {
  if (options.count === 0) return new Float32Array(0);
  const worker = new Worker(WORKER_URL, {
    execArgv: [],
    env: { ...process.env, LOUPE_QUIET_BACKEND: '1' },
    stdout: true,
  });
  worker.stdout.pipe(process.stderr);
  try {
    return await new Promise<Float32Array>((resolve, reject) => {
      worker.on('message', (message: OnnxWorkerMessage) => {
        if (message.type === 'ready') options.onReady?.(1);
        else if (message.type === 'progress') options.onProgress?.(message.done, options.count);
        else if (message.type === 'error') reject(new Error(`ONNX Runtime worker failed: ${message.message}`));
        else resolve(message.logits);
      });
      worker.on('error', reject);
      worker.on('exit', (code) =>
        reject(new Error(`ONNX Runtime worker exited (code ${code}) before returning its logits.`)),
      );
      const request: OnnxWorkerRequest = {
        modelDir: options.modelDir,
        // A copy: the caller keeps its array, and the copy moves to the worker.
        pixels: options.pixels.slice(0, options.count * PIXELS_PER_IMAGE),
        count: options.count,
        threads: options.threads ?? 1,
        batchSize: options.batchSize,
      };
      worker.postMessage(request, [request.pixels.buffer as ArrayBuffer]);
    });
  } finally {
    await worker.terminate();
  }
}
