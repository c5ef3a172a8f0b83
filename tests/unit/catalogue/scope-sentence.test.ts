import { describe, expect, it } from 'vitest';
import { describeExcluded, describeScope } from '@/lib/catalogue/scope-sentence';

describe('describeScope', () => {
  it('tells a reviewer how many holdout items the count leaves out, and nothing of gold', () => {
    expect(describeScope({ evaluationShown: false, holdout: 2000, gold: null })).toBe('excluding 2,000 holdout items');
    expect(describeScope({ evaluationShown: false, holdout: 1, gold: null })).toBe('excluding 1 holdout item');
    expect(describeScope({ evaluationShown: false, holdout: 0, gold: null })).toBe('');
  });

  it('tells ops and admins which evaluation items the count includes', () => {
    expect(describeScope({ evaluationShown: true, holdout: 5000, gold: 40 })).toBe(
      'including 5,000 holdout and 40 gold items',
    );
    expect(describeScope({ evaluationShown: true, holdout: 5000, gold: 0 })).toBe('including 5,000 holdout items');
    expect(describeScope({ evaluationShown: true, holdout: 0, gold: 1 })).toBe('including 1 gold item');
    expect(describeScope({ evaluationShown: true, holdout: 0, gold: 0 })).toBe('');
  });
});

describe('describeExcluded', () => {
  it('names gold only when its count is given', () => {
    expect(describeExcluded({ holdout: 5000, gold: 12 })).toBe('excluding 5,000 holdout and 12 gold items');
    expect(describeExcluded({ holdout: 5000, gold: null })).toBe('excluding 5,000 holdout items');
    expect(describeExcluded({ holdout: 0, gold: null })).toBe('');
  });
});
