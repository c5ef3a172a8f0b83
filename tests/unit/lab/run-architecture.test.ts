import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { readIdxSplit } from '@/lib/formats/idx';
import { LAB_ARCHITECTURES, parseLabArchitectures, REGISTRABLE_ARCHITECTURES } from '@/lib/lab/architectures';
import { COMPARISON_COLUMNS, formatComparisonTable } from '@/lib/lab/compare-table';
import {
  DEFAULT_LAB_SETTINGS,
  runLabArchitecture,
  type LabDataset,
  type LabResult,
  type LabSettings,
} from '@/lib/lab/run-architecture';
import { bundledDatasetDir } from '@/lib/learning/demo-data';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { ARCHITECTURES } from '@/lib/ml/model';
import { expectAppError, tempDir } from '../review/fixtures';

/** 2,000 real Fashion-MNIST images to fit, 300 to validate, 500 to measure (the bundled t10k file). */
let data: LabDataset;
const tmp = tempDir('loupe-lab-run-');

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  const { images, labels } = readIdxSplit(bundledDatasetDir(), 't10k');
  const slice = (from: number, to: number) => ({
    pixels: images.pixels.slice(from * 784, to * 784),
    labels: labels.slice(from, to),
    count: to - from,
  });
  data = {
    train: slice(0, 2000),
    validation: slice(2000, 2300),
    test: slice(2300, 2800),
    classNames: [...FASHION_MNIST_CLASSES],
    source: 'bundled t10k',
  };
  return tmp.cleanup;
});

const settings: LabSettings = {
  ...DEFAULT_LAB_SETTINGS,
  epochs: 3,
  batchSize: 64,
  learningRate: 2e-3,
  seed: 1,
  augment: false,
  trees: 15,
};

/** The table's figures must be what the stored predictions say. */
function expectConsistent(result: LabResult) {
  const n = data.test.count;
  expect(result.predicted).toHaveLength(n);
  expect(result.confidence).toHaveLength(n);
  const correct = result.predicted.filter((p, i) => p === data.test.labels[i]).length;
  expect(result.accuracy).toBeCloseTo(correct / n, 10);
  const confusion = result.evaluation.confusion;
  expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(n);
  expect(confusion.reduce((sum, row, c) => sum + row[c]!, 0)).toBe(correct);
  expect(result.evaluation.perClass.map((m) => m.class)).toEqual([...FASHION_MNIST_CLASSES]);
  expect(result.macroF1).toBeCloseTo(result.evaluation.perClass.reduce((s, m) => s + m.f1, 0) / 10, 10);
  expect(result.ece).toBeGreaterThanOrEqual(0);
  expect(result.ece).toBeLessThan(0.5);
  expect(result.coverageAt1PctError).toBeGreaterThanOrEqual(0);
  expect(result.coverageAt1PctError).toBeLessThanOrEqual(1);
  // The column is the evaluation's own coverage at a 1% error budget, not a second computation.
  const atOnePercent = result.evaluation.coverageAtError.find((point) => point.maxError === 0.01);
  expect(atOnePercent?.coverage).toBe(result.coverageAt1PctError);
  if (atOnePercent?.error != null) expect(atOnePercent.error).toBeLessThanOrEqual(0.01);
  expect(result.imagesPerSecond).toBeGreaterThan(0);
  expect(result.trainSeconds).toBeGreaterThan(0);
}

describe('lab baselines and networks on real images', () => {
  it('logistic regression is one dense layer (7,850 weights) and learns well above chance', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const result = await runLabArchitecture({ arch: 'logreg', data, settings });
    expect(result.params).toBe(784 * 10 + 10);
    expect(result.accuracy).toBeGreaterThan(0.7);
    expect(result.temperature).toBeGreaterThan(0);
    expect(result.epochsRun).toBe(3);
    expectConsistent(result);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('the random forest counts its nodes as parameters and needs no temperature', async () => {
    const result = await runLabArchitecture({ arch: 'forest', data, settings });
    expect(result.params).toBeGreaterThan(15);
    expect(result.temperature).toBe(1);
    expect(result.accuracy).toBeGreaterThan(0.7);
    expectConsistent(result);
  });

  it('an mlp is saved as a Loupe model folder when asked; logreg is not (Loupe cannot serve it)', async () => {
    const dir = path.join(tmp.dir, 'mlp');
    const result = await runLabArchitecture({ arch: 'mlp', data, settings: { ...settings, epochs: 1 }, saveTo: dir });
    expectConsistent(result);
    const meta = readModelMeta(dir);
    expect(meta).toMatchObject({
      arch: 'mlp',
      classNames: [...FASHION_MNIST_CLASSES],
      trainCount: 2000,
      validationCount: 300,
    });
    expect(meta.temperature).toBeCloseTo(result.temperature, 10);
    const logregDir = path.join(tmp.dir, 'logreg');
    await runLabArchitecture({ arch: 'logreg', data, settings: { ...settings, epochs: 1 }, saveTo: logregDir });
    expect(fs.existsSync(logregDir)).toBe(false);
  });

  it('formats the table with one line per row under the columns', () => {
    const row = {
      arch: 'logreg',
      accuracy: 0.8412,
      macroF1: 0.84,
      ece: 0.0123,
      params: 7850,
      trainSeconds: 12.34,
      imagesPerSecond: 45678.9,
      coverageAt1PctError: 0.3,
    };
    const lines = formatComparisonTable([row, { ...row, arch: 'forest', accuracy: 0.872 }]).split('\n');
    expect(lines).toHaveLength(3);
    for (const column of COMPARISON_COLUMNS) expect(lines[0]).toContain(column);
    expect(lines[1]).toMatch(/^logreg\s+84\.12%\s+0\.8400\s+1\.23%\s+7,850\s+12\.3\s+45,679\s+30\.00%$/);
    expect(lines[2]).toMatch(/^forest\s+87\.20%/);
  });
});

describe('lab architecture names', () => {
  it('parses a list, keeps each once, and refuses unknown names', async () => {
    expect(parseLabArchitectures('mlp, logreg,mlp')).toEqual(['mlp', 'logreg']);
    await expectAppError(() => parseLabArchitectures('mlp,resnet'), 'bad_input', /"resnet".*logreg, forest/);
    await expectAppError(() => parseLabArchitectures(' , '), 'bad_input');
  });

  it('the servable lab architectures are exactly the ones Loupe stores', () => {
    expect([...REGISTRABLE_ARCHITECTURES]).toEqual([...ARCHITECTURES]);
    for (const arch of ARCHITECTURES) expect(LAB_ARCHITECTURES).toContain(arch);
  });
});
