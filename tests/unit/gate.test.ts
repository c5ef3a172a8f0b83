import { describe, expect, it } from 'vitest';
import { decidePromotion } from '@/lib/learning/gate';

const m = (correct: number, total: number) => ({ correct, total });

describe('evaluation gate', () => {
  it('promotes when held-out human accuracy improves and the holdout does not drop', () => {
    const d = decidePromotion({
      active: { holdout: m(9300, 10000), heldOutHuman: m(60, 100) },
      candidate: { holdout: m(9310, 10000), heldOutHuman: m(70, 100) },
    });
    expect(d.promote).toBe(true);
    expect(d.reason).toMatch(/^Promoted: held-out human labels 60\.00% -> 70\.00% \(\+10\.00 points\)/);
    expect(d.holdoutDeltaPoints).toBeCloseTo(0.1, 9);
  });

  it('allows a holdout drop of exactly the margin, and rejects one just beyond it', () => {
    const active = { holdout: m(9300, 10000), heldOutHuman: m(60, 100) };
    expect(decidePromotion({ active, candidate: { holdout: m(9280, 10000), heldOutHuman: m(61, 100) } }).promote).toBe(
      true,
    );
    const beyond = decidePromotion({ active, candidate: { holdout: m(9279, 10000), heldOutHuman: m(90, 100) } });
    expect(beyond.promote).toBe(false);
    expect(beyond.reason).toMatch(
      /holdout accuracy fell from 93\.00% to 92\.79% \(-0\.21 points; at most -0\.20 allowed\)/,
    );
  });

  it('honours a configured margin', () => {
    const input = {
      active: { holdout: m(900, 1000), heldOutHuman: m(5, 10) },
      candidate: { holdout: m(890, 1000), heldOutHuman: m(6, 10) },
    };
    expect(decidePromotion(input).promote).toBe(false);
    expect(decidePromotion({ ...input, maxHoldoutDropPoints: 1 }).promote).toBe(true);
  });

  it('rejects a candidate that only ties on the human labels', () => {
    const d = decidePromotion({
      active: { holdout: m(90, 100), heldOutHuman: m(7, 10) },
      candidate: { holdout: m(95, 100), heldOutHuman: m(7, 10) },
    });
    expect(d.promote).toBe(false);
    expect(d.reason).toMatch(/did not improve/);
  });

  it('rejects when a measurement is missing instead of guessing', () => {
    expect(
      decidePromotion({
        active: { holdout: m(0, 0), heldOutHuman: m(1, 2) },
        candidate: { holdout: m(0, 0), heldOutHuman: m(2, 2) },
      }).reason,
    ).toMatch(/no holdout/);
    expect(
      decidePromotion({
        active: { holdout: m(9, 10), heldOutHuman: m(0, 0) },
        candidate: { holdout: m(9, 10), heldOutHuman: m(0, 0) },
      }).reason,
    ).toMatch(/no human labels were held out/);
  });

  it('refuses impossible counts', () => {
    expect(() =>
      decidePromotion({
        active: { holdout: m(11, 10), heldOutHuman: m(1, 2) },
        candidate: { holdout: m(9, 10), heldOutHuman: m(2, 2) },
      }),
    ).toThrow(/cannot exceed/);
  });
});
