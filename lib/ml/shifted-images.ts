import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createRng } from '@/lib/ml/random';

/** The robustness check of issue 18: every image moved by up to 2 px on each axis. */
export const ROBUSTNESS_MAX_SHIFT = 2;
/** Fixed, so the shifted copy of a test set is the same on every run and machine. */
export const ROBUSTNESS_SEED = 18;

/**
 * A copy of `count` 28x28 images, each moved by its own random whole-pixel offset in
 * [-maxShift, maxShift] on both axes (uniform over the integers), the uncovered border filled
 * with background (0). Deterministic in `seed`: image i's offset depends only on the seed and i.
 */
export function shiftImagesAtRandom(options: {
  pixels: Uint8Array;
  count: number;
  maxShift?: number;
  seed?: number;
}): Uint8Array {
  const { pixels, count } = options;
  const maxShift = options.maxShift ?? ROBUSTNESS_MAX_SHIFT;
  if (!Number.isInteger(maxShift) || maxShift < 0 || maxShift >= IMAGE_SIZE)
    throw new RangeError(`maxShift must be a whole number from 0 to ${IMAGE_SIZE - 1}, got ${maxShift}.`);
  if (pixels.length < count * PIXELS_PER_IMAGE)
    throw new RangeError(`${pixels.length} bytes hold fewer than ${count} images of ${PIXELS_PER_IMAGE}.`);
  const rng = createRng(options.seed ?? ROBUSTNESS_SEED);
  const span = 2 * maxShift + 1;
  const out = new Uint8Array(count * PIXELS_PER_IMAGE);
  const S = IMAGE_SIZE;
  for (let i = 0; i < count; i++) {
    const dx = Math.floor(rng() * span) - maxShift;
    const dy = Math.floor(rng() * span) - maxShift;
    const base = i * PIXELS_PER_IMAGE;
    for (let y = 0; y < S; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= S) continue;
      for (let x = 0; x < S; x++) {
        const sx = x - dx;
        if (sx >= 0 && sx < S) out[base + y * S + x] = pixels[base + sy * S + sx]!;
      }
    }
  }
  return out;
}
