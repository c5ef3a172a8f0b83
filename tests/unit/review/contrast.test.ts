import { describe, expect, it } from 'vitest';
import { stretchContrast, stretchRange, stretchRgbaInPlace } from '@/lib/review/contrast';

function ramp(from: number, to: number, length = 784): number[] {
  return Array.from({ length }, (_, i) => Math.round(from + ((to - from) * i) / (length - 1)));
}

describe('stretchContrast', () => {
  it('spreads a dark, low-contrast image over black..white', () => {
    const out = stretchContrast(ramp(10, 60));
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(255);
    // The order of the levels is kept.
    for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThanOrEqual(out[i - 1]!);
  });

  it('leaves an image that already reaches black and white, and a flat one, as they are', () => {
    // A typical item: a black background, a white object, some levels between.
    const full = [...new Array(300).fill(0), ...ramp(0, 255, 184), ...new Array(300).fill(255)];
    expect([...stretchContrast(full)]).toEqual(full);
    expect([...stretchContrast(new Array(784).fill(30))]).toEqual(new Array(784).fill(30));
    expect(stretchRange(new Array(784).fill(30))).toBeNull();
  });

  it('is not undone by one hot pixel', () => {
    const gray = ramp(10, 60);
    gray[400] = 255;
    expect(stretchRange(gray)).toEqual({ low: 10, high: 60 });
    expect(stretchContrast(gray)[783]).toBe(255);
  });

  it('on RGBA pixels, stretches the gray channels and keeps alpha', () => {
    const rgba = new Uint8ClampedArray([20, 20, 20, 255, 40, 40, 40, 128]);
    stretchRgbaInPlace(rgba);
    expect([...rgba]).toEqual([0, 0, 0, 255, 255, 255, 255, 128]);
  });
});
