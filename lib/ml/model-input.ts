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
  /** Largest rotation either way, in degrees, about the image centre (0 or absent: none). */
  maxRotationDegrees?: number;
  /** Largest change of scale either way, as a fraction (0.1: 90%-110%; 0 or absent: none). */
  maxZoom?: number;
}

export const DEFAULT_AUGMENT: AugmentOptions = { maxShift: 2, flipProbability: 0.5, eraseProbability: 0.3 };
/**
 * Handwritten digits (the LeNet-5 write-up's augmentation): shifts, small rotations and zoom;
 * never flips (a mirrored 2 or 7 is not a digit) and no erasing (a stroke removed can change
 * the digit).
 */
export const DIGITS_AUGMENT: AugmentOptions = {
  maxShift: 2,
  flipProbability: 0,
  eraseProbability: 0,
  maxRotationDegrees: 10,
  maxZoom: 0.1,
};
/** Named augmentations for `npm run train -- --augmentation <name>`. */
export const AUGMENT_PRESETS = { clothing: DEFAULT_AUGMENT, digits: DIGITS_AUGMENT } as const;
export type AugmentPreset = keyof typeof AUGMENT_PRESETS;

/**
 * Rotation and zoom about the centre after the shift (inverse mapping, bilinear, zero outside).
 * Only runs when either is asked for, so the other augmentations draw the same random numbers
 * as before it existed (a seeded training repeats exactly).
 */
function warpInto(options: {
  src: Uint8Array;
  srcOffset: number;
  out: Float32Array;
  dstOffset: number;
  shift: { dx: number; dy: number };
  flip: boolean;
  angle: number;
  scale: number;
}): void {
  const { src, srcOffset, out, dstOffset, shift, flip, angle, scale } = options;
  const S = IMAGE_SIZE;
  const c = (S - 1) / 2;
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const at = (x: number, y: number) => (x >= 0 && x < S && y >= 0 && y < S ? src[srcOffset + y * S + x]! : 0);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const u = x - shift.dx - c;
      const v = y - shift.dy - c;
      const rx = cos * u + sin * v + c;
      const sx = flip ? S - 1 - rx : rx;
      const sy = -sin * u + cos * v + c;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[dstOffset + y * S + x] = (top * (1 - fy) + bottom * fy) / 255;
    }
  }
}

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
    if (augment.maxRotationDegrees || augment.maxZoom) {
      const angle = ((rng() * 2 - 1) * (augment.maxRotationDegrees ?? 0) * Math.PI) / 180;
      const scale = 1 + (rng() * 2 - 1) * (augment.maxZoom ?? 0);
      warpInto({ src: pixels, srcOffset: src, out, dstOffset: dst, shift: { dx, dy }, flip, angle, scale });
    } else {
      for (let y = 0; y < S; y++) {
        const sy = y - dy;
        for (let x = 0; x < S; x++) {
          const sxShifted = x - dx;
          const sx = flip ? S - 1 - sxShifted : sxShifted;
          out[dst + y * S + x] = sy >= 0 && sy < S && sx >= 0 && sx < S ? pixels[src + sy * S + sx]! / 255 : 0;
        }
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
