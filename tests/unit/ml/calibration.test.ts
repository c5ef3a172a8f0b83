import { describe, expect, it } from 'vitest';
import { fitTemperature, negativeLogLikelihood, softmaxRows } from '@/lib/ml/calibration';
import { expectedCalibrationError } from '@/lib/ml/metrics';

/** mulberry32: a tiny seeded PRNG, so the synthetic set is the same on every run. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An over-confident model: it is right 70% of the time, but always puts a logit margin of
 * about 6 on its pick, so its confidence is about 0.99.
 */
function createOverconfidentSet(n: number, k: number): { logits: Float32Array; labels: Uint8Array } {
  const random = createRandom(42);
  const logits = new Float32Array(n * k);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = Math.floor(random() * k);
    const pick = random() < 0.7 ? label : (label + 1 + Math.floor(random() * (k - 1))) % k;
    labels[i] = label;
    for (let j = 0; j < k; j++) logits[i * k + j] = random() - 0.5 + (j === pick ? 6 : 0);
  }
  return { logits, labels };
}

describe('softmaxRows', () => {
  it('gives rows summing to 1 and flattens with a higher temperature', () => {
    const logits = new Float32Array([2, 1, 0, 0, 0, 0]);
    const sharp = softmaxRows(logits, 3, 1);
    const flat = softmaxRows(logits, 3, 4);
    expect(sharp[0]! + sharp[1]! + sharp[2]!).toBeCloseTo(1, 6);
    expect(sharp[3]).toBeCloseTo(1 / 3, 6);
    expect(flat[0]!).toBeLessThan(sharp[0]!);
    expect(flat[0]!).toBeGreaterThan(flat[1]!);
  });
});

describe('fitTemperature', () => {
  const k = 4;
  const { logits, labels } = createOverconfidentSet(2000, k);
  const temperature = fitTemperature(logits, labels, k);

  it('returns T > 1 for over-confident logits', () => {
    expect(temperature).toBeGreaterThan(1.5);
  });

  it('lowers the negative log-likelihood', () => {
    const before = negativeLogLikelihood(logits, labels, k, 1);
    const after = negativeLogLikelihood(logits, labels, k, temperature);
    expect(after).toBeLessThan(before - 0.1);
    // A minimum: nudging T either way does not help.
    expect(negativeLogLikelihood(logits, labels, k, temperature * 1.05)).toBeGreaterThanOrEqual(after);
    expect(negativeLogLikelihood(logits, labels, k, temperature / 1.05)).toBeGreaterThanOrEqual(after);
  });

  it('lowers the expected calibration error', () => {
    const before = expectedCalibrationError({ probs: softmaxRows(logits, k, 1), labels, k }).ece;
    const after = expectedCalibrationError({ probs: softmaxRows(logits, k, temperature), labels, k }).ece;
    expect(before).toBeGreaterThan(0.2);
    expect(after).toBeLessThan(before / 2);
  });
});
