import { describe, expect, it } from 'vitest';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import {
  AUGMENT_PRESETS,
  augmentBatch,
  DEFAULT_AUGMENT,
  DIGITS_AUGMENT,
  type AugmentOptions,
} from '@/lib/ml/model-input';
import { createRng } from '@/lib/ml/random';

const S = IMAGE_SIZE;

/** One 28x28 image with an asymmetric blob (an L), so rotations and mirrors are told apart. */
function lShape(): Uint8Array {
  const pixels = new Uint8Array(PIXELS_PER_IMAGE);
  for (let y = 6; y < 22; y++) for (let x = 8; x < 11; x++) pixels[y * S + x] = 255;
  for (let y = 19; y < 22; y++) for (let x = 8; x < 20; x++) pixels[y * S + x] = 200;
  return pixels;
}

/** A random source that answers the given numbers in turn (then 0.5). */
function answers(...values: number[]): () => number {
  let i = 0;
  return () => values[i++] ?? 0.5;
}

function augmentOne(pixels: Uint8Array, augment: AugmentOptions, rng: () => number): Float32Array {
  const out = new Float32Array(PIXELS_PER_IMAGE);
  augmentBatch({ pixels, indices: [0], rng, out, augment });
  return out;
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('augmentation for digits: rotation and zoom', () => {
  it('never flips or erases digits; clothing keeps its flips and erasing', () => {
    expect(DIGITS_AUGMENT.flipProbability).toBe(0);
    expect(DIGITS_AUGMENT.eraseProbability).toBe(0);
    expect(DIGITS_AUGMENT.maxRotationDegrees).toBeGreaterThan(0);
    expect(DIGITS_AUGMENT.maxZoom).toBeGreaterThan(0);
    expect(AUGMENT_PRESETS).toEqual({
      clothing: DEFAULT_AUGMENT,
      digits: DIGITS_AUGMENT,
      'digits-elastic': { ...DIGITS_AUGMENT, elasticAlpha: 34, elasticSigma: 4 },
    });
    expect(DEFAULT_AUGMENT.maxRotationDegrees ?? 0).toBe(0);
  });

  it('a rotation of (almost) nothing gives the shifted image of the plain path', () => {
    const image = lShape();
    const plain = augmentOne(image, { maxShift: 2, flipProbability: 0.5, eraseProbability: 0 }, createRng(5));
    const warped = augmentOne(
      image,
      { maxShift: 2, flipProbability: 0.5, eraseProbability: 0, maxRotationDegrees: 1e-9 },
      createRng(5),
    );
    for (let i = 0; i < PIXELS_PER_IMAGE; i++) expect(warped[i]).toBeCloseTo(plain[i]!, 6);
    expect(sum(plain)).toBeGreaterThan(0);
  });

  it('rotates about the centre: a quarter turn sends row y, column x to the source row 27 - x, column y', () => {
    const image = lShape();
    // dx 0, dy 0, no flip, then the largest angle one way and no zoom.
    const out = augmentOne(
      image,
      { maxShift: 2, flipProbability: 0, eraseProbability: 0, maxRotationDegrees: 90, maxZoom: 0.1 },
      answers(0.5, 0.5, 0.9, 1, 0.5),
    );
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) expect(out[y * S + x]).toBeCloseTo(image[(S - 1 - x) * S + y]! / 255, 5);
  });

  it('zooms about the centre: 10% larger has about 21% more ink; a small turn keeps the ink', () => {
    const image = lShape();
    const ink = sum(image) / 255;
    const zoomed = augmentOne(
      image,
      { maxShift: 0, flipProbability: 0, eraseProbability: 0, maxRotationDegrees: 10, maxZoom: 0.1 },
      answers(0.5, 0.5, 0.9, 0.5, 1),
    );
    expect(sum(zoomed) / ink).toBeCloseTo(1.21, 1);
    const turned = augmentOne(
      image,
      { maxShift: 0, flipProbability: 0, eraseProbability: 0, maxRotationDegrees: 10, maxZoom: 0.1 },
      answers(0.5, 0.5, 0.9, 0, 0.5),
    );
    expect(Math.abs(sum(turned) / ink - 1)).toBeLessThan(0.03);
    expect(turned).not.toEqual(
      augmentOne(image, { maxShift: 0, flipProbability: 0, eraseProbability: 0 }, createRng(1)),
    );
  });

  it('mirrors too when flips are asked for with a rotation', () => {
    const image = lShape();
    const flipped = augmentOne(
      image,
      { maxShift: 0, flipProbability: 1, eraseProbability: 0, maxRotationDegrees: 1e-9 },
      createRng(2),
    );
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) expect(flipped[y * S + x]).toBeCloseTo(image[y * S + (S - 1 - x)]! / 255, 6);
  });

  it('stays in [0, 1] for any draw', () => {
    const rng = createRng(9);
    const image = lShape();
    for (let i = 0; i < 50; i++) {
      const out = augmentOne(image, DIGITS_AUGMENT, rng);
      expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...out)).toBeLessThanOrEqual(1 + 1e-6);
    }
  });
});

describe('elastic distortion', () => {
  const elastic = AUGMENT_PRESETS['digits-elastic'];
  const affineOnly = { ...elastic, elasticAlpha: 0 };

  it('bends the strokes by a pixel or two, keeping most of the ink', () => {
    const image = lShape();
    const ink = sum(image) / 255;
    let changed = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const bent = augmentOne(image, elastic, createRng(seed));
      const straight = augmentOne(image, affineOnly, createRng(seed));
      // The same shift, turn and zoom (drawn first), then the field: different pixels.
      let diff = 0;
      for (let i = 0; i < PIXELS_PER_IMAGE; i++) diff += Math.abs(bent[i]! - straight[i]!);
      changed += diff / ink;
      expect(Math.abs(sum(bent) / sum(straight) - 1)).toBeLessThan(0.4);
    }
    // On average a sizeable share of the ink moves, but the digit is not scattered.
    expect(changed / 20).toBeGreaterThan(0.1);
    expect(changed / 20).toBeLessThan(1.2);
  });

  it('repeats with the seed and stays in [0, 1]', () => {
    const image = lShape();
    expect(augmentOne(image, elastic, createRng(4))).toEqual(augmentOne(image, elastic, createRng(4)));
    const rng = createRng(8);
    for (let i = 0; i < 30; i++) {
      const out = augmentOne(image, elastic, rng);
      expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...out)).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  it('draws nothing more when it is off: the other presets repeat as before', () => {
    const image = lShape();
    const rngA = createRng(3);
    const rngB = createRng(3);
    augmentOne(image, DIGITS_AUGMENT, rngA);
    augmentOne(image, { ...DIGITS_AUGMENT, elasticAlpha: 0, elasticSigma: 4 }, rngB);
    expect(rngA()).toBe(rngB());
  });
});
