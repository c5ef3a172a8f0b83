import { describe, expect, it } from 'vitest';
import { accuracyAxis, countAxis, roundStep, roundTicks } from '@/lib/dashboards/axis-ticks';

describe('round axis ticks', () => {
  it('steps are 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(roundStep(1, 6)).toBe(0.2);
    expect(roundStep(0.49, 11)).toBe(0.05);
    expect(roundStep(0.12, 6)).toBe(0.025);
    expect(roundStep(37, 6)).toBe(10);
    expect(roundStep(0, 6)).toBe(1);
    expect(roundStep(Number.NaN, 6)).toBe(1);
  });

  it('ticks are the round multiples inside the range, without floating-point dust', () => {
    expect(roundTicks(0.5, 0.99, 11)).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
    expect(roundTicks(0, 1, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(roundTicks(0.1, 0.7, 7)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(roundTicks(3, 3)).toEqual([3]);
    expect(roundTicks(2, 1)).toEqual([]);
  });

  it('an accuracy axis starts at a round value below the lowest figure, ends at 100% and ignores missing figures', () => {
    const axis = accuracyAxis([0.934, null, 0.97, 0.995]);
    expect(axis.domain[1]).toBe(1);
    expect(axis.domain[0]).toBeLessThanOrEqual(0.934);
    expect(axis.domain[0]).toBeGreaterThanOrEqual(0.9);
    expect(axis.ticks.at(-1)).toBe(1);
    for (const tick of axis.ticks) expect(Number((tick * 100).toFixed(1))).toBe(Math.round(tick * 1000) / 10);
    expect(accuracyAxis([]).domain).toEqual([0, 1]);
    expect(accuracyAxis([0.02]).domain[0]).toBe(0);
  });

  it('a count axis has whole-number ticks from 0 past the largest count', () => {
    expect(countAxis(0)).toEqual({ domain: [0, 1], ticks: [0, 1] });
    expect(countAxis(7).ticks).toEqual([0, 2, 4, 6, 8]);
    expect(countAxis(12).ticks.every(Number.isInteger)).toBe(true);
    expect(countAxis(12).domain[1]).toBeGreaterThanOrEqual(12);
    expect(countAxis(1234).ticks).toEqual([0, 250, 500, 750, 1000, 1250]);
  });
});
