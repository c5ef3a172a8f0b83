import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';

/**
 * The one place where pixels become model input, shared by training and serving:
 * 28x28 bytes (0 = background, 255 = object, the Fashion-MNIST convention) scaled to [0,1].
 */
export function pixelsToTensor(pixels: Uint8Array, count: number, offset = 0): tf.Tensor4D {
  const floats = new Float32Array(count * PIXELS_PER_IMAGE);
  const base = offset * PIXELS_PER_IMAGE;
  for (let i = 0; i < floats.length; i++) floats[i] = pixels[base + i]! / 255;
  return tf.tensor4d(floats, [count, IMAGE_SIZE, IMAGE_SIZE, 1]);
}

export interface AugmentOptions {
  /** Largest shift in pixels, each axis (zero-filled). */
  maxShift: number;
  flipProbability: number;
  /** Random erasing (Zhong et al., 2017): a rectangle of 2-20% of the image set to noise. */
  eraseProbability: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { maxShift: 2, flipProbability: 0.5, eraseProbability: 0.3 };

/**
 * Writes the images `indices` of `pixels`, augmented, as floats in [0,1] into `out`
 * (indices.length x 784). Horizontal flips are safe for clothing; vertical ones are not.
 */
export function augmentBatch(options: {
  pixels: Uint8Array;
  indices: ArrayLike<number>;
  rng: () => number;
  out: Float32Array;
  augment: AugmentOptions;
}): void {
  const { pixels, indices, rng, out, augment } = options;
  const S = IMAGE_SIZE;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * PIXELS_PER_IMAGE;
    const dst = b * PIXELS_PER_IMAGE;
    const dx = Math.round((rng() * 2 - 1) * augment.maxShift);
    const dy = Math.round((rng() * 2 - 1) * augment.maxShift);
    const flip = rng() < augment.flipProbability;
    for (let y = 0; y < S; y++) {
      const sy = y - dy;
      for (let x = 0; x < S; x++) {
        const sxShifted = x - dx;
        const sx = flip ? S - 1 - sxShifted : sxShifted;
        out[dst + y * S + x] = sy >= 0 && sy < S && sx >= 0 && sx < S ? pixels[src + sy * S + sx]! / 255 : 0;
      }
    }
    if (rng() < augment.eraseProbability) {
      const area = (0.02 + rng() * 0.18) * S * S;
      const aspect = Math.exp((rng() * 2 - 1) * Math.log(3));
      const h = Math.min(S, Math.max(1, Math.round(Math.sqrt(area * aspect))));
      const w = Math.min(S, Math.max(1, Math.round(Math.sqrt(area / aspect))));
      const top = Math.floor(rng() * (S - h + 1));
      const left = Math.floor(rng() * (S - w + 1));
      for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) out[dst + y * S + x] = rng();
    }
  }
}
