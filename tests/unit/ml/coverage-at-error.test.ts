import { describe, expect, it } from 'vitest';
import { coverageAtError } from '@/lib/ml/metrics';

/**
 * Two classes; item i predicts class 0 with confidence conf[i] and is right when its label is 0.
 * Items are listed by falling confidence, so "the top m" reads straight off the arrays.
 */
function binary(conf: number[], right: boolean[]) {
  return {
    probs: new Float32Array(conf.flatMap((c) => [c, 1 - c])),
    labels: right.map((r) => (r ? 0 : 1)),
    k: 2,
  };
}

describe('coverageAtError', () => {
  // 10 items, 0.99 down to 0.90; only the second (0.98) is wrong.
  const ten = binary(
    [0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.91, 0.9],
    [true, false, true, true, true, true, true, true, true, true],
  );

  it('keeps sweeping past thresholds over budget: 1 error in 10 is within 10%, 1 in 2..9 is not', () => {
    const [point] = coverageAtError({ ...ten, budgets: [0.1] });
    expect(point).toEqual({ maxError: 0.1, threshold: Math.fround(0.9), coverage: 1, error: 0.1 });
  });

  it('takes only the items above the error when the budget is smaller than any share with it', () => {
    const [strict, zero] = coverageAtError({ ...ten, budgets: [0.05, 0] });
    expect(strict).toEqual({ maxError: 0.05, threshold: Math.fround(0.99), coverage: 0.1, error: 0 });
    expect(zero).toEqual({ maxError: 0, threshold: Math.fround(0.99), coverage: 0.1, error: 0 });
  });

  it('accepts or refuses items of equal confidence together', () => {
    // 0.8 holds one right and one wrong item: one threshold cannot take the right one alone.
    const tied = binary([0.9, 0.8, 0.8, 0.7], [true, true, false, true]);
    const [zero, third, quarter] = coverageAtError({ ...tied, budgets: [0, 0.3, 0.25] });
    expect(zero).toMatchObject({ threshold: Math.fround(0.9), coverage: 0.25 });
    // With 0.8: 1 error in 3 (33%), over 30%; with 0.7 too: 1 in 4 (25%), within both.
    expect(third).toMatchObject({ threshold: Math.fround(0.7), coverage: 1, error: 0.25 });
    expect(quarter).toMatchObject({ threshold: Math.fround(0.7), coverage: 1, error: 0.25 });
  });

  it('reports no threshold and no coverage when even the most confident item is wrong', () => {
    const wrongFirst = binary([0.95, 0.6], [false, true]);
    expect(coverageAtError({ ...wrongFirst, budgets: [0.01] })).toEqual([
      { maxError: 0.01, threshold: null, coverage: 0, error: null },
    ]);
  });

  it('counts an error exactly at the budget as within it (1 in 200 at 0.5%)', () => {
    const conf = Array.from({ length: 200 }, (_, i) => 0.999 - i * 0.002);
    const right = conf.map((_, i) => i !== 50);
    const points = coverageAtError({ ...binary(conf, right), budgets: [0.005, 0.004] });
    expect(points[0]).toMatchObject({ coverage: 1, error: 0.005 });
    // At 0.4% the single error cannot be taken: the 50 items above it.
    expect(points[1]).toMatchObject({ coverage: 0.25, error: 0, threshold: Math.fround(conf[49]!) });
  });

  it('reports 0.5%, 1% and 2% by default, and refuses labels outside the classes', () => {
    expect(coverageAtError(ten).map((p) => p.maxError)).toEqual([0.005, 0.01, 0.02]);
    expect(() => coverageAtError({ probs: new Float32Array([0.5, 0.5]), labels: [2], k: 2 })).toThrow(/outside/);
  });
});
