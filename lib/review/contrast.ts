/**
 * Auto-contrast for the review pages' "contrast" toggle: a linear stretch of an image's gray
 * levels so that its darkest pixels become black and its brightest white. A dark, low-contrast
 * photo (levels 10-60 of 255) becomes readable; one whose darkest and brightest 1% already reach
 * 0 and 255 (a black background, a white object) is unchanged.
 * Pure, so the browser (on a canvas's pixels) and the tests share it. Display only: the stored
 * pixels and what the model sees never change.
 */

/** Ignores the darkest and brightest 1% of pixels, so one hot pixel cannot cancel the stretch. */
const CLIP_FRACTION = 0.01;

/** The gray levels mapped to black and white (low < high), or null for a flat image. */
export function stretchRange(gray: ArrayLike<number>): { low: number; high: number } | null {
  if (gray.length === 0) return null;
  const histogram = new Array<number>(256).fill(0);
  for (let i = 0; i < gray.length; i++) histogram[Math.max(0, Math.min(255, Math.round(gray[i]!)))]!++;
  const clip = Math.floor(gray.length * CLIP_FRACTION);
  let low = 0;
  for (let seen = 0; low < 255; low++) {
    seen += histogram[low]!;
    if (seen > clip) break;
  }
  let high = 255;
  for (let seen = 0; high > 0; high--) {
    seen += histogram[high]!;
    if (seen > clip) break;
  }
  return high > low ? { low, high } : null;
}

/** The stretched gray levels (0-255, rounded); a flat image comes back unchanged. */
export function stretchContrast(gray: ArrayLike<number>): Uint8ClampedArray {
  const out = new Uint8ClampedArray(gray.length);
  const range = stretchRange(gray);
  for (let i = 0; i < gray.length; i++) {
    const value = gray[i]!;
    out[i] = range === null ? value : Math.round(((value - range.low) * 255) / (range.high - range.low));
  }
  return out;
}

/**
 * stretchContrast on RGBA pixels (a canvas's ImageData) in place: the gray level is the red
 * channel, since item images are grayscale; alpha is kept.
 */
export function stretchRgbaInPlace(rgba: Uint8ClampedArray): void {
  const gray = new Uint8ClampedArray(rgba.length / 4);
  for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4]!;
  const stretched = stretchContrast(gray);
  for (let i = 0; i < stretched.length; i++) {
    const value = stretched[i]!;
    rgba[i * 4] = value;
    rgba[i * 4 + 1] = value;
    rgba[i * 4 + 2] = value;
  }
}
