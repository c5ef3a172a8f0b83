import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEnv } from '@/lib/env';
import { runScript } from '../../run-script';

const hasDataset =
  fs.existsSync(path.join(getEnv().LOUPE_DATASET_DIR, 'train-labels-idx1-ubyte.gz')) ||
  fs.existsSync(path.join(getEnv().LOUPE_DATASET_DIR, 'train-labels-idx1-ubyte'));

describe('npm run train', () => {
  it.runIf(hasDataset)(
    'trains on two replicas without dropout and records how in meta.json',
    async () => {
      const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-train-')), 'mlp');
      const { code, stdout, stderr } = await runScript('train', [
        '--arch',
        'mlp',
        '--epochs',
        '1',
        '--limit',
        '1024',
        '--val-size',
        '500',
        '--replicas',
        '2',
        '--engine',
        'tfjs',
        '--no-dropout',
        '--schedule',
        'cosine',
        '--ema',
        '0.99',
        '--out',
        out,
      ]);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ out, arch: 'mlp', epochs: 1, bestEpoch: 1 });
      expect(stderr).toMatch(/epoch 1: loss \d/);
      const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8'));
      expect(meta).toMatchObject({
        arch: 'mlp',
        replicas: 2,
        dropout: false,
        augment: true,
        trainCount: 1024,
        validationCount: 500,
        schedule: 'cosine',
        emaDecay: 0.99,
      });
      expect(meta.engine).toBeUndefined();
      expect(stderr).toContain('[loupe] training engine: TensorFlow.js');
      // Dropout is skipped while fitting, not removed: the saved layer keeps its rate.
      expect(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).toContain('"rate":0.2');
    },
    120_000,
  );

  it.runIf(hasDataset)(
    'by default trains on ONNX Runtime where it can, and says so; where it cannot (lenet5), says why',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-train-'));
      const common = ['--arch', 'mlp', '--epochs', '1', '--limit', '512', '--val-size', '200'];
      const onnx = await runScript('train', [...common, '--no-dropout', '--out', path.join(dir, 'onnx')]);
      expect(onnx.code, onnx.stderr).toBe(0);
      expect(onnx.stderr).toContain('[loupe] training engine: ONNX Runtime');
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'onnx', 'meta.json'), 'utf8'));
      expect(meta).toMatchObject({ engine: 'onnx', replicas: 1, dropout: false });
      const tfjs = await runScript('train', [
        ...common.map((arg) => (arg === 'mlp' ? 'lenet5' : arg)),
        '--out',
        path.join(dir, 'tfjs'),
      ]);
      expect(tfjs.code, tfjs.stderr).toBe(0);
      expect(tfjs.stderr).toMatch(/training engine: TensorFlow\.js \(ONNX Runtime cannot: .*AveragePooling2D/);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'tfjs', 'meta.json'), 'utf8')).engine).toBeUndefined();
    },
    120_000,
  );

  it('refuses a replica count that is not a positive whole number, with a sentence, and writes nothing', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-train-')), 'never');
    for (const [value, message] of [
      ['0', 'at least 1 thread'],
      ['1.5', 'a whole number of threads'],
    ]) {
      const { code, stderr } = await runScript('train', ['--arch', 'mlp', '--replicas', value!, '--out', out]);
      expect(code).toBe(1);
      expect(stderr.trim().split('\n').at(-1)).toBe(`error: --replicas: ${message}`);
    }
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses an unknown schedule and an EMA decay outside (0, 1), and writes nothing', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-train-')), 'never');
    for (const args of [
      ['--schedule', 'step'],
      ['--ema', '1'],
      ['--ema', '0'],
    ]) {
      const { code, stderr } = await runScript('train', ['--arch', 'mlp', ...args, '--out', out]);
      expect(code).toBe(1);
      expect(stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^error: ${args[0]}: `));
    }
    expect(fs.existsSync(out)).toBe(false);
  });
});
