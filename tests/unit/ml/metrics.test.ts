import { describe, expect, it } from 'vitest';
import {
  classificationReport,
  computeEvaluation,
  confusionMatrix,
  expectedCalibrationError,
  riskCoverage,
} from '@/lib/ml/metrics';

/*
 * 3 classes, 8 items. Confidences avoid the ECE bin edges (multiples of 1/15).
 *
 *  item label probs               predicted conf  correct  ECE bin (ceil(15c)-1)
 *   0     0   [0.90 0.05 0.05]    0        0.90   yes      13
 *   1     0   [0.65 0.25 0.10]    0        0.65   yes       9
 *   2     0   [0.20 0.70 0.10]    1        0.70   no       10
 *   3     1   [0.10 0.85 0.05]    1        0.85   yes      12
 *   4     1   [0.50 0.40 0.10]    0        0.50   no        7
 *   5     2   [0.05 0.10 0.85]    2        0.85   yes      12
 *   6     2   [0.05 0.05 0.90]    2        0.90   yes      13
 *   7     2   [0.30 0.65 0.05]    1        0.65   no        9
 *
 * Confusion (rows true): [[2,1,0],[1,1,0],[0,1,2]]; accuracy 5/8.
 * Class 0: P 2/3, R 2/3, F1 2/3.  Class 1: P 1/3, R 1/2, F1 2/5.  Class 2: P 1, R 2/3, F1 4/5.
 * Macro F1 = (2/3 + 2/5 + 4/5) / 3 = 28/45.
 * ECE, |acc - conf| per bin weighted by count/8:
 *   bin 7  n1 conf .50 acc 0   -> .50
 *   bin 9  n2 conf .65 acc .5  -> .15 x2
 *   bin 10 n1 conf .70 acc 0   -> .70
 *   bin 12 n2 conf .85 acc 1   -> .15 x2
 *   bin 13 n2 conf .90 acc 1   -> .10 x2
 *   ECE = (.5 + .3 + .7 + .3 + .2) / 8 = 0.25
 */
const classNames = ['A', 'B', 'C'];
const labels = [0, 0, 0, 1, 1, 2, 2, 2];
const probs = new Float32Array([
  0.9, 0.05, 0.05, 0.65, 0.25, 0.1, 0.2, 0.7, 0.1, 0.1, 0.85, 0.05, 0.5, 0.4, 0.1, 0.05, 0.1, 0.85, 0.05, 0.05, 0.9,
  0.3, 0.65, 0.05,
]);

describe('computeEvaluation on a hand-computed example', () => {
  const result = computeEvaluation({ probs, labels, classNames });

  it('counts accuracy and the confusion matrix with rows = true class', () => {
    expect(result.n).toBe(8);
    expect(result.accuracy).toBeCloseTo(5 / 8, 10);
    expect(result.confusion).toEqual([
      [2, 1, 0],
      [1, 1, 0],
      [0, 1, 2],
    ]);
  });

  it('reports per-class precision, recall, F1 and support', () => {
    const expected = [
      { class: 'A', precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3 },
      { class: 'B', precision: 1 / 3, recall: 1 / 2, f1: 2 / 5, support: 2 },
      { class: 'C', precision: 1, recall: 2 / 3, f1: 4 / 5, support: 3 },
    ];
    expected.forEach((want, c) => {
      const got = result.perClass[c]!;
      expect(got.class).toBe(want.class);
      expect(got.support).toBe(want.support);
      expect(got.precision).toBeCloseTo(want.precision, 10);
      expect(got.recall).toBeCloseTo(want.recall, 10);
      expect(got.f1).toBeCloseTo(want.f1, 10);
    });
    expect(result.macroF1).toBeCloseTo(28 / 45, 10);
    expect(result.macroAvg.support).toBe(8);
  });

  it('computes ECE over 15 equal-width bins', () => {
    expect(result.ece).toBeCloseTo(0.25, 6);
    expect(result.reliability).toHaveLength(15);
    expect(result.reliability.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 0, 2, 2, 0]);
    const bin9 = result.reliability[9]!;
    expect(bin9.binLower).toBeCloseTo(0.6, 10);
    expect(bin9.binUpper).toBeCloseTo(2 / 3, 10);
    expect(bin9.confidence).toBeCloseTo(0.65, 6);
    expect(bin9.accuracy).toBe(0.5);
    expect(result.reliability[0]).toMatchObject({ count: 0, confidence: null, accuracy: null });
  });

  it('builds the risk-coverage table; a float32 0.65 counts at threshold 0.65', () => {
    const byThreshold = new Map(result.riskCoverage.map((p) => [p.threshold, p]));
    expect([...byThreshold.keys()]).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99]);
    expect(byThreshold.get(0.5)).toEqual({ threshold: 0.5, coverage: 1, accuracy: 5 / 8 });
    expect(byThreshold.get(0.55)).toEqual({ threshold: 0.55, coverage: 7 / 8, accuracy: 5 / 7 });
    expect(byThreshold.get(0.65)).toEqual({ threshold: 0.65, coverage: 7 / 8, accuracy: 5 / 7 });
    expect(byThreshold.get(0.7)).toEqual({ threshold: 0.7, coverage: 5 / 8, accuracy: 4 / 5 });
    expect(byThreshold.get(0.85)).toEqual({ threshold: 0.85, coverage: 4 / 8, accuracy: 1 });
    expect(byThreshold.get(0.9)).toEqual({ threshold: 0.9, coverage: 2 / 8, accuracy: 1 });
  });

  it('gives coverage 0 and accuracy null where a threshold covers nothing', () => {
    for (const threshold of [0.95, 0.97, 0.98, 0.99]) {
      expect(result.riskCoverage.find((p) => p.threshold === threshold)).toEqual({
        threshold,
        coverage: 0,
        accuracy: null,
      });
    }
  });
});

describe('edge cases', () => {
  it('gives precision 0 to a class that is never predicted (zero_division=0)', () => {
    // Class 2 has one true item, predicted as class 0; nothing is ever predicted as 2.
    const edgeProbs = new Float32Array([0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.7, 0.2, 0.1]);
    const report = computeEvaluation({ probs: edgeProbs, labels: [0, 1, 2], classNames });
    expect(report.perClass[2]).toEqual({ class: 'C', precision: 0, recall: 0, f1: 0, support: 1 });
    expect(report.perClass[0]).toMatchObject({ precision: 0.5, recall: 1 });
  });

  it('leaves classes absent from labels and predictions out of the macro average', () => {
    const confusion = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
    ];
    const { perClass, macroAvg } = classificationReport({ confusion, classNames });
    expect(perClass[2]).toEqual({ class: 'C', precision: 0, recall: 0, f1: 0, support: 0 });
    expect(macroAvg.f1).toBe(1);
  });

  it('breaks argmax ties towards the first class, as numpy does', () => {
    const tied = new Float32Array([0.5, 0.5, 0]);
    expect(confusionMatrix({ probs: tied, labels: [1], k: 3 })).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('counts a perfectly calibrated set as ECE 0 and puts confidence 1 in the last bin', () => {
    const sure = new Float32Array([1, 0, 0, 0, 1, 0]);
    const { ece, reliability } = expectedCalibrationError({ probs: sure, labels: [0, 1], k: 3 });
    expect(ece).toBe(0);
    expect(reliability[14]!.count).toBe(2);
  });

  it('rejects mismatched shapes and labels outside the classes', () => {
    expect(() => computeEvaluation({ probs: new Float32Array(5), labels: [0, 1], classNames })).toThrow(/2 x 3/);
    expect(() => riskCoverage({ probs: new Float32Array(3).fill(1 / 3), labels: [3], k: 3 })).toThrow(/outside/);
    expect(() => computeEvaluation({ probs: new Float32Array(0), labels: [], classNames })).toThrow(/zero items/);
  });
});
