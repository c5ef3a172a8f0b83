/**
 * `npx tsx scripts/make-demo-eval-data.ts [--dataset DIR] [--out DIR] [--check]`
 *
 * Writes the demo's holdout (the fixed 5,000-image validation split of the Fashion-MNIST
 * training set) and replay file (600 images per class from the training part) as gzipped IDX
 * into datasets/fashion-mnist/, deterministically from the Debian package's training set.
 * `--check` compares with the files already there instead of writing (exit 1 if they differ).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { encodeIdxImages, encodeIdxLabels, readIdxSplit } from '@/lib/formats/idx';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';
import { bundledDatasetDir, buildDemoEvalSets, HOLDOUT_FILES, REPLAY_FILES } from '@/lib/learning/demo-data';
import { IMAGE_SIZE } from '@/lib/ml/classes';
import type { LabelledImages } from '@/lib/ml/train';
import { runCli } from './cli';

function encode(set: LabelledImages): { images: Buffer; labels: Buffer } {
  // gzip from zlib writes no timestamp or file name: the same input gives the same bytes.
  return {
    images: gzipSync(encodeIdxImages({ count: set.count, rows: IMAGE_SIZE, cols: IMAGE_SIZE, pixels: set.pixels }), {
      level: 9,
    }),
    labels: gzipSync(encodeIdxLabels(set.labels), { level: 9 }),
  };
}

await runCli(async () => {
  const { values } = parseArgs({
    options: { dataset: { type: 'string' }, out: { type: 'string' }, check: { type: 'boolean' } },
  });
  const datasetDir = values.dataset ?? getEnv().LOUPE_DATASET_DIR;
  const outDir = values.out ?? bundledDatasetDir();
  const train = readIdxSplit(datasetDir, 'train');
  if (train.images.count !== 60_000)
    throw badInput(
      `${datasetDir}: expected the 60,000-image Fashion-MNIST training set, found ${train.images.count} images.`,
    );
  const sets = buildDemoEvalSets(train);
  const files: [string, Buffer][] = [];
  for (const [names, set] of [
    [HOLDOUT_FILES, sets.holdout],
    [REPLAY_FILES, sets.replay],
  ] as const) {
    const encoded = encode(set);
    files.push([names.images, encoded.images], [names.labels, encoded.labels]);
  }
  const report: Record<string, { bytes: number; same?: boolean }> = {};
  let differs = false;
  for (const [name, bytes] of files) {
    const file = path.join(outDir, name);
    if (values.check) {
      const same = fs.existsSync(file) && fs.readFileSync(file).equals(bytes);
      differs ||= !same;
      report[name] = { bytes: bytes.length, same };
    } else {
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(`${file}.tmp`, bytes);
      fs.renameSync(`${file}.tmp`, file);
      report[name] = { bytes: bytes.length };
    }
  }
  console.log(
    JSON.stringify({
      dataset: datasetDir,
      out: outDir,
      holdout: sets.holdout.count,
      replay: sets.replay.count,
      files: report,
    }),
  );
  if (differs)
    throw badInput(
      'the bundled demo evaluation files differ from what the training set gives; run the script without --check.',
    );
});
