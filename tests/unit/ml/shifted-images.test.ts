import { describe, expect, it } from 'vitest';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { shiftImagesAtRandom } from '@/lib/ml/shifted-images';

/** One bright pixel per image at (row 14, col 14); a shift moves it, never dims or copies it. */
function dots(count: number): Uint8Array {
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) pixels[i * PIXELS_PER_IMAGE + 14 * 28 + 14] = 255;
  return pixels;
}

function dotOffset(pixels: Uint8Array, i: number): { dx: number; dy: number } {
  const image = pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
  const at = image.indexOf(255);
  expect(image.filter((v) => v !== 0)).toHaveLength(1);
  return { dx: (at % 28) - 14, dy: Math.floor(at / 28) - 14 };
}

describe('shiftImagesAtRandom', () => {
  it('moves every image by its own offset of at most 2 px and uses every offset in range', () => {
    const count = 500;
    const shifted = shiftImagesAtRandom({ pixels: dots(count), count });
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const { dx, dy } = dotOffset(shifted, i);
      expect(Math.abs(dx)).toBeLessThanOrEqual(2);
      expect(Math.abs(dy)).toBeLessThanOrEqual(2);
      seen.add(`${dx},${dy}`);
    }
    expect(seen.size).toBe(25);
  });

  it('is the same for the same seed and differs for another', () => {
    const pixels = dots(50);
    const a = shiftImagesAtRandom({ pixels, count: 50, seed: 3 });
    expect(shiftImagesAtRandom({ pixels, count: 50, seed: 3 })).toEqual(a);
    expect(shiftImagesAtRandom({ pixels, count: 50, seed: 4 })).not.toEqual(a);
  });

  it('fills the uncovered border with background and leaves the input alone', () => {
    const pixels = new Uint8Array(PIXELS_PER_IMAGE).fill(200);
    const copy = pixels.slice();
    const shifted = shiftImagesAtRandom({ pixels, count: 1, maxShift: 3, seed: 1 });
    expect(pixels).toEqual(copy);
    const { dx, dy } = dotOffset(shiftImagesAtRandom({ pixels: dots(1), count: 1, maxShift: 3, seed: 1 }), 0);
    const background = shifted.filter((v) => v === 0).length;
    expect(background).toBe(28 * 28 - (28 - Math.abs(dx)) * (28 - Math.abs(dy)));
  });

  it('refuses a shift outside the image and too few bytes', () => {
    expect(() => shiftImagesAtRandom({ pixels: dots(1), count: 1, maxShift: 28 })).toThrow(/maxShift/);
    expect(() => shiftImagesAtRandom({ pixels: dots(1), count: 2 })).toThrow(/fewer than 2/);
  });
});
