/**
 * Logits from an ONNX model with ONNX Runtime: pixels -> [0,1] floats -> `logits`, in batches,
 * with the same mirror averaging as lib/ml/predict.ts so every scorer follows one rule.
 */
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
// Not from export.ts: the scoring thread loads no exporter (lib/ml/onnx/onnx-worker.ts).
import { ONNX_INPUT, ONNX_OUTPUT } from '@/lib/ml/onnx/io-names';
import type { PredictLogitsOptions } from '@/lib/ml/predict';
import type { OnnxRuntime } from '@/lib/ml/scorer';

/**
 * Images per run. Measured on the cnn (2-core Xeon, 1 thread): 64 -> 256 gained ~10%, 1024
 * gained nothing more and grows the activation arena (~0.3 MB per image across the layers).
 */
export const ONNX_BATCH = 256;

export interface OnnxLogitsModel {
  predictLogits(pixels: Uint8Array, count: number, options?: PredictLogitsOptions): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Writes images [start, start+size) as floats in [0,1], mirrored left-right when `mirror`. */
function toFloats(pixels: Uint8Array, start: number, size: number, mirror: boolean, out: Float32Array): void {
  const base = start * PIXELS_PER_IMAGE;
  const S = IMAGE_SIZE;
  if (!mirror) {
    for (let i = 0; i < size * PIXELS_PER_IMAGE; i++) out[i] = pixels[base + i]! / 255;
    return;
  }
  for (let row = 0; row < size * S; row++) {
    const o = row * S;
    for (let x = 0; x < S; x++) out[o + x] = pixels[base + o + S - 1 - x]! / 255;
  }
}

/**
 * An ONNX Runtime session over `bytes` with `threads` intra-op threads. Runs are asynchronous
 * (ONNX Runtime computes on its own threads), so the calling thread stays free meanwhile.
 */
export async function createOnnxLogitsModel(
  ort: OnnxRuntime,
  bytes: Uint8Array,
  options: { threads: number; /** Let idle intra-op threads spin (default: no). */ spinning?: boolean },
): Promise<OnnxLogitsModel> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads sleep instead of spinning: on a machine shared with the web server and
    // training, spinning cost ~20% more CPU per image for the same or lower throughput (cnn,
    // 2 threads, 2-core Xeon under load: 0.38-0.41 vs 0.31-0.32 CPU s per 1,000 images).
    extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
  });
  const run = async (floats: Float32Array, size: number): Promise<Float32Array> => {
    const input = new ort.Tensor('float32', floats.subarray(0, size * PIXELS_PER_IMAGE), [
      size,
      IMAGE_SIZE,
      IMAGE_SIZE,
      1,
    ]);
    const result = await session.run({ [ONNX_INPUT]: input });
    const logits = result[ONNX_OUTPUT]!;
    const data = logits.data as Float32Array;
    logits.dispose();
    return data;
  };
  return {
    async predictLogits(pixels, count, opts = {}) {
      const batchSize = opts.batchSize ?? ONNX_BATCH;
      const floats = new Float32Array(Math.min(batchSize, Math.max(count, 1)) * PIXELS_PER_IMAGE);
      let out: Float32Array | null = null;
      for (let start = 0; start < count; start += batchSize) {
        const size = Math.min(batchSize, count - start);
        toFloats(pixels, start, size, false, floats);
        const plain = await run(floats, size);
        const k = plain.length / size;
        out ??= new Float32Array(count * k);
        if (opts.testTimeAugmentation === 'hflip') {
          toFloats(pixels, start, size, true, floats);
          const mirrored = await run(floats, size);
          // (a + b) / 2 in float32, as lib/ml/predict.ts computes it with tf.add and tf.div.
          for (let i = 0; i < plain.length; i++) out[start * k + i] = Math.fround(plain[i]! + mirrored[i]!) / 2;
        } else {
          out.set(plain, start * k);
        }
        opts.onProgress?.(start + size, count);
      }
      return out ?? new Float32Array(0);
    },
    dispose: () => session.release(),
  };
}

/**
 * Sessions the scoring thread (lib/ml/onnx/onnx-worker.ts) keeps loaded, the least recently used
 * disposed first. Each holds its model and ONNX Runtime's arena: 50-65 MB of resident memory per
 * session of the demo cnn scoring 10,000 images (2-core development machine, 2026-12-07). Kept
 * without a bound, a worker that scores with each new version grew by that much with every
 * training. Four covers what is in use at once: the active model at two threads and at one
 * (beside a training), a candidate being evaluated, and the next active model.
 */
export const MAX_ONNX_SESSIONS = 4;
