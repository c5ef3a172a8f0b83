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
  /**
   * Elastic distortion (Simard et al., 2003): every pixel is displaced by a random field, uniform
   * in [-1, 1] per pixel, smoothed by a Gaussian of `elasticSigma` pixels and scaled by
   * `elasticAlpha` (0 or absent: none). The strokes bend as a hand's would.
   */
  elasticAlpha?: number;
  elasticSigma?: number;
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
/** The digits preset with Simard et al.'s elastic distortion (alpha 34, sigma 4) after it. */
export const DIGITS_ELASTIC_AUGMENT: AugmentOptions = { ...DIGITS_AUGMENT, elasticAlpha: 34, elasticSigma: 4 };
/** Named augmentations for `npm run train -- --augmentation <name>`. */
export const AUGMENT_PRESETS = {
  clothing: DEFAULT_AUGMENT,
  digits: DIGITS_AUGMENT,
  'digits-elastic': DIGITS_ELASTIC_AUGMENT,
} as const;
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
  /** Per output pixel, added to where it samples from (elastic distortion). */
  displacement?: { dx: Float32Array; dy: Float32Array };
}): void {
  const { src, srcOffset, out, dstOffset, shift, flip, angle, scale, displacement } = options;
  const S = IMAGE_SIZE;
  const c = (S - 1) / 2;
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  const at = (x: number, y: number) => (x >= 0 && x < S && y >= 0 && y < S ? src[srcOffset + y * S + x]! : 0);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const u = x - shift.dx - c;
      const v = y - shift.dy - c;
      const d = y * S + x;
      const rx = cos * u + sin * v + c + (displacement ? displacement.dx[d]! : 0);
      const sx = flip ? S - 1 - rx : rx;
      const sy = -sin * u + cos * v + c + (displacement ? displacement.dy[d]! : 0);
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

/** A normalised 1-D Gaussian kernel of `sigma` pixels, radius ceil(3 sigma). */
function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  return kernel.map((v) => v / sum);
}

/**
 * One elastic displacement field into `field` (784 values): uniform noise in [-1, 1], smoothed
 * by the separable Gaussian `kernel` (zero beyond the edges), times `alpha`. `scratch`: 784 floats.
 */
function elasticField(
  rng: () => number,
  kernel: Float32Array,
  alpha: number,
  field: Float32Array,
  scratch: Float32Array,
) {
  const S = IMAGE_SIZE;
  const radius = (kernel.length - 1) / 2;
  for (let i = 0; i < S * S; i++) field[i] = rng() * 2 - 1;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) {
        const xx = x + k;
        if (xx >= 0 && xx < S) sum += kernel[k + radius]! * field[y * S + xx]!;
      }
      scratch[y * S + x] = sum;
    }
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let sum = 0;
      for (let k = -radius; k <= radius; k++) {
        const yy = y + k;
        if (yy >= 0 && yy < S) sum += kernel[k + radius]! * scratch[yy * S + x]!;
      }
      field[y * S + x] = alpha * sum;
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
  const elastic = augment.elasticAlpha && augment.elasticSigma ? gaussianKernel(augment.elasticSigma) : null;
  const displacement = elastic ? { dx: new Float32Array(S * S), dy: new Float32Array(S * S) } : undefined;
  const scratch = elastic ? new Float32Array(S * S) : null;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * PIXELS_PER_IMAGE;
    const dst = b * PIXELS_PER_IMAGE;
    const dx = Math.round((rng() * 2 - 1) * augment.maxShift);
    const dy = Math.round((rng() * 2 - 1) * augment.maxShift);
    const flip = rng() < augment.flipProbability;
    if (augment.maxRotationDegrees || augment.maxZoom || elastic) {
      const angle = ((rng() * 2 - 1) * (augment.maxRotationDegrees ?? 0) * Math.PI) / 180;
      const scale = 1 + (rng() * 2 - 1) * (augment.maxZoom ?? 0);
      if (elastic) {
        elasticField(rng, elastic, augment.elasticAlpha!, displacement!.dx, scratch!);
        elasticField(rng, elastic, augment.elasticAlpha!, displacement!.dy, scratch!);
      }
      warpInto({
        src: pixels,
        srcOffset: src,
        out,
        dstOffset: dst,
        shift: { dx, dy },
        flip,
        angle,
        scale,
        displacement,
      });
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
