import { describe, expect, it } from 'vitest';
import { abbreviateClassNames, formatEvaluationReport, type ModelEvaluation } from '@/lib/ml/evaluation-report';
import { computeEvaluation } from '@/lib/ml/metrics';

const classNames = ['T-shirt/top', 'Trouser', 'Ankle boot'];

function createReport(): ModelEvaluation {
  const probs = new Float32Array([0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1]);
  const evaluation = computeEvaluation({ probs, labels: [0, 1, 2, 2], classNames });
  return {
    ...evaluation,
    model: { dir: 'models/test', arch: 'cnn-small', params: 123456, temperature: 1.5, classNames },
    source: 'csv:items.csv',
    backend: 'cpu',
    scorer: 'tfjs',
    precision: null,
    imagesPerSecond: 1234.4,
    temperature: 1.5,
    eceUncalibrated: 0.1234,
    robustness: { maxShift: 2, seed: 18, shiftedAccuracy: 0.5, drop: 0.25 },
  };
}

describe('abbreviateClassNames', () => {
  it('cuts long names and falls back to the index when two cuts collide', () => {
    expect(abbreviateClassNames(['T-shirt/top', 'Bag', 'Ankle boot'])).toEqual(['T-shir', 'Bag', 'Ankle']);
    expect(abbreviateClassNames(['Sneakers', 'Sneaker-low', 'Bag'])).toEqual(['#0', '#1', 'Bag']);
  });
});

describe('formatEvaluationReport', () => {
  const text = formatEvaluationReport(createReport());

  it('summarises the model and the headline figures', () => {
    expect(text).toContain('cnn-small');
    expect(text).toContain('123,456');
    expect(text).toContain('1,234 images/s');
    expect(text).toContain('backend       cpu');
    expect(text).toContain('Accuracy: 75.00%');
  });

  it('shows the per-class table with a macro average and the confusion matrix', () => {
    expect(text).toMatch(/T-shirt\/top\s+0\.5000\s+1\.0000\s+0\.6667\s+1/);
    expect(text).toMatch(/macro avg\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{4}\s+4/);
    expect(text).toMatch(/true \\ predicted\s+T-shir\s+Trouse\s+Ankle/);
    expect(text).toMatch(/2 Ankle boot\s+1\s+0\s+1/);
  });

  it('shows ECE before and after temperature scaling and the risk-coverage rows', () => {
    expect(text).toMatch(/before temperature scaling \(T = 1\)\s+0\.1234/);
    expect(text).toMatch(/after temperature scaling \(T = 1\.500\)\s+0\.\d{4}/);
    expect(text).toMatch(/0\.99\s+0\.00%\s+-\s+4/);
  });

  it('shows coverage at each error budget and the shifted-set accuracy', () => {
    // Confidences 0.9, 0.7, 0.6 are right and 0.5 is wrong: no budget under 25% takes the 4th.
    for (const budget of ['0.50%', '1.00%', '2.00%'])
      expect(text).toMatch(new RegExp(`${budget.replace('.', '\\.')}\\s+0\\.6000\\s+75\\.00%\\s+0\\.00%\\s+1`));
    expect(text).toContain('accuracy 50.00%, 25.00 points below the unshifted 75.00%');
  });
});
