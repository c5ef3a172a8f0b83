/**
 * `npx tsx scripts/export-digits-idx.ts --out DIR`
 *
 * Writes the fixed split of the MNIST digits (lib/learning/digits-data.ts) as gzipped IDX files,
 * named so that the commands reading Fashion-MNIST's layout read them too: the test split as
 * `t10k-*` (`npm run evaluate -- --model models/mnist-digits --idx DIR --split t10k`), the train
 * split as `train-*`, and `validation-*` and `holdout-*` beside them. The same split gives the
 * same bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { badInput } from '@/lib/errors';
import { encodeIdxImages, encodeIdxLabels } from '@/lib/formats/idx';
import { readDigitsSplits, type DigitsSplit } from '@/lib/learning/digits-data';
import { IMAGE_SIZE } from '@/lib/ml/classes';
import { runCli } from './cli';

const FILE_PREFIX: Record<DigitsSplit, string> = {
  train: 'train',
  validation: 'validation',
  test: 't10k',
  holdout: 'holdout',
};

await runCli(async () => {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (!values.out) throw badInput('usage: npx tsx scripts/export-digits-idx.ts --out <dir>');
  const splits = readDigitsSplits();
  fs.mkdirSync(values.out, { recursive: true });
  const written: Record<string, number> = {};
  for (const [split, prefix] of Object.entries(FILE_PREFIX) as [DigitsSplit, string][]) {
    const set = splits[split];
    const images = encodeIdxImages({ count: set.count, rows: IMAGE_SIZE, cols: IMAGE_SIZE, pixels: set.pixels });
    fs.writeFileSync(path.join(values.out, `${prefix}-images-idx3-ubyte.gz`), gzipSync(images, { level: 9 }));
    fs.writeFileSync(path.join(values.out, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdxLabels(set.labels)));
    written[prefix] = set.count;
  }
  console.log(JSON.stringify({ out: values.out, images: written }));
});
