import * as tf from '@tensorflow/tfjs';
import { pixelsToTensor } from '@/lib/ml/model-input';

export type TestTimeAugmentation = 'none' | 'hflip';

export interface PredictLogitsOptions {
  batchSize?: number;
  /** 'hflip' averages the logits of each image and its mirror image (clothes are symmetric). */
  testTimeAugmentation?: TestTimeAugmentation;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Raw logits (count x k, row-major) for `count` images, in batches so memory stays flat.
 * Each batch runs inside tf.tidy, and only plain numbers leave this function.
 */
export async function predictLogits(
  model: tf.LayersModel,
  pixels: Uint8Array,
  count: number,
  options: PredictLogitsOptions = {},
): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 512;
  let out: Float32Array | null = null;
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const logits = tf.tidy(() => {
      const x = pixelsToTensor(pixels, size, start);
      const plain = model.predict(x, { batchSize: size }) as tf.Tensor2D;
      if (options.testTimeAugmentation !== 'hflip') return plain;
      const mirrored = model.predict(tf.reverse(x, 2), { batchSize: size }) as tf.Tensor2D;
      return tf.div(tf.add(plain, mirrored), 2) as tf.Tensor2D;
    });
    const values = (await logits.data()) as Float32Array;
    const k = logits.shape[1];
    logits.dispose();
    out ??= new Float32Array(count * k);
    out.set(values, start * k);
    options.onProgress?.(start + size, count);
    // Let timers run between batches (a worker's lease renewal and heartbeat): the await
    // above resolves as a microtask, which does not.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out ?? new Float32Array(0);
}

/** Index of the largest value in each row of an n x k matrix. */
export function argmaxRows(values: Float32Array, k: number): Uint8Array {
  const n = values.length / k;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[i * k + j]! > values[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Share of rows whose largest logit (or probability) is the label's; 0 for no rows. */
export function accuracyOfLogits(values: Float32Array, labels: ArrayLike<number>, k: number): number {
  const predicted = argmaxRows(values, k);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return labels.length === 0 ? 0 : correct / labels.length;
}
