import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelMeta } from '@/lib/ml/model-store';
import { tempDir } from '../review/fixtures';

const root = path.resolve(import.meta.dirname, '../../..');
const { dir, cleanup } = tempDir('loupe-finalize-');
afterAll(cleanup);

function train(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/**
 * `npm run train -- --finalize` refits a saved model's temperature on validation images. It
 * fitted every model on Fashion-MNIST's, the digits' too; now a model of other classes needs its
 * own data named, and gets its own validation split.
 */
describe('npm run train -- --finalize', () => {
  const copy = path.join(dir, 'digits');
  fs.cpSync(path.join(root, 'models', 'mnist-digits'), copy, { recursive: true });
  const before = fs.readFileSync(path.join(copy, 'meta.json'), 'utf8');

  it('refuses a digits model without its data, and leaves it as it was', () => {
    const result = train(['--arch', 'cnn', '--finalize', '--out', copy]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/classifies 0, 1, .*not Fashion-MNIST: name its data \(e\.g\. --data mnist-digits\)/);
    expect(fs.readFileSync(path.join(copy, 'meta.json'), 'utf8')).toBe(before);
  });

  it('fits a digits model on the digits validation split when told its data', () => {
    const result = train(['--arch', 'cnn', '--data', 'mnist-digits', '--finalize', '--out', copy]);
    expect(result.status, result.stderr).toBe(0);
    const meta = readModelMeta(copy);
    // The temperature the shipped model was fitted with on the same 1,000 digits (docs/ml.md: 1.149).
    expect(meta.temperature).toBeGreaterThan(0.9);
    expect(meta.temperature).toBeLessThan(1.5);
    expect(meta.validation?.accuracy).toBeGreaterThan(0.98);
  });
});
