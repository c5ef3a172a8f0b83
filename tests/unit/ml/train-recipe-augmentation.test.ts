import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUGMENT_PRESETS } from '@/lib/ml/model-input';
import { readModelMeta } from '@/lib/ml/model-store';
import { trainFromDataset } from '@/lib/ml/train-from-dataset';
import { tempDir } from '../review/fixtures';
import { syntheticSet } from './fixtures';

const root = path.resolve(import.meta.dirname, '../../..');
const { dir, cleanup } = tempDir('loupe-recipe-augment-');
afterAll(cleanup);

/**
 * A model records the augmentation preset of its recipe even when it trained without any, since
 * fine-tuning it later augments with what it records: a digits model trained with --no-augment
 * once recorded the clothing preset, and its candidates were then fitted on mirrored digits.
 */
describe('the augmentation a trained model records', () => {
  it('npm run train -- --data mnist-digits --no-augment records the digits preset', () => {
    const out = path.join(dir, 'digits-plain');
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/train.ts',
        ...[
          '--arch',
          'mlp',
          '--data',
          'mnist-digits',
          '--no-augment',
          '--epochs',
          '1',
          '--replicas',
          '1',
          '--out',
          out,
        ],
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(result.status, result.stderr).toBe(0);
    const meta = readModelMeta(out);
    expect(meta.augment).toBe(false);
    expect(meta.augmentation).toEqual(AUGMENT_PRESETS.digits);
  }, 150_000);

  it('refuses data other than Fashion-MNIST without its augmentation named, before training', async () => {
    const images = syntheticSet(40, 3);
    const out = path.join(dir, 'unnamed');
    await expect(
      trainFromDataset({
        arch: 'mlp',
        datasetDir: dir,
        out,
        epochs: 1,
        seed: 1,
        batchSize: 8,
        learningRate: 1e-3,
        validationSize: 0,
        augment: false,
        data: {
          train: images,
          validation: images,
          classNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
          description: 'ten letters',
        },
      }),
    ).rejects.toThrow(/name the augmentation for ten letters/);
  });
});
