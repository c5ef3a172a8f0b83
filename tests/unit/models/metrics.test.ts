import { describe, expect, it } from 'vitest';
import { FineTuneMetrics, readModelMetrics, ShippedModelMetrics } from '@/lib/models/metrics';

describe('model_versions.metrics', () => {
  it('reads each field on its own: a malformed one is absent, the others stay', () => {
    const read = readModelMetrics({
      kind: 'fine-tune',
      holdout: { correct: 'many', total: 10 },
      heldOutHuman: { correct: 8, total: 10 },
      ece: 0.03,
      active: { modelVersionId: 4, holdout: { correct: 9, total: 10 }, ece: 'low' },
      decision: { reason: 'Promoted: better on the holdout.' },
      humanLabelsUsed: -Infinity,
    });
    expect(read.holdout).toBeUndefined();
    expect(read.heldOutHuman).toEqual({ correct: 8, total: 10 });
    expect(read.ece).toBe(0.03);
    expect(read.active).toEqual({ modelVersionId: 4, holdout: { correct: 9, total: 10 } });
    expect(read.decision?.reason).toBe('Promoted: better on the holdout.');
    expect(read.humanLabelsUsed).toBeUndefined();
  });

  it('reads null, a non-object or an array as no metrics at all', () => {
    expect(readModelMetrics(null)).toEqual({});
    expect(readModelMetrics('not metrics')).toEqual({});
    expect(readModelMetrics([1, 2])).toEqual({});
  });

  it("refuses to write a fine-tune row that misses a figure the pages rely on", () => {
    const parsed = FineTuneMetrics.safeParse({ kind: 'fine-tune', holdout: { correct: 1, total: 2, accuracy: 0.5 } });
    expect(parsed.success).toBe(false);
  });

  it("keeps the shipped model's whole validation report and refuses one without accuracy", () => {
    const meta = { validation: { accuracy: 0.91, ece: 0.02, loss: 0.3 }, params: 1000, trainImagesPerSecond: 500 };
    expect(ShippedModelMetrics.parse(meta).validation).toEqual({ accuracy: 0.91, ece: 0.02, loss: 0.3 });
    expect(ShippedModelMetrics.safeParse({ ...meta, validation: { ece: 0.02 } }).success).toBe(false);
  });
});
