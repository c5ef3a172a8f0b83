/**
 * `npm run quantize-model -- --model <dir> [--data fashion-mnist|mnist-digits] [--dataset <idx dir>]`
 *
 * Gives a model folder saved without an int8 calibration (before it existed) one: measures the
 * range of every ReLU output on the first 512 images of the data's training split
 * (lib/ml/activation-ranges.ts), stores it in meta.json and writes model.int8.onnx beside
 * model.onnx. New versions get both when they are saved. Check the result with
 * `LOUPE_ONNX_PRECISION=int8 npm run evaluate -- --model <dir> ...`. Prints one JSON line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { badInput } from '@/lib/errors';
import { readIdxSplit } from '@/lib/formats/idx';
import { readDigitsSplits } from '@/lib/learning/digits-data';
import { int8CalibrationOf } from '@/lib/ml/activation-ranges';
import { initBackend } from '@/lib/ml/backend';
import { loadModel, ModelMeta } from '@/lib/ml/model-store';
import { ensureInt8OnnxModel, INT8_ONNX_FILE, writeFileAtomic } from '@/lib/ml/onnx/model-file';
import { runCli } from '@/scripts/cli';

const USAGE =
  'usage: npm run quantize-model -- --model <dir> [--data fashion-mnist|mnist-digits] [--dataset <idx dir>]';

const Args = z.object({
  model: z.string({ error: `--model is required. ${USAGE}` }).min(1),
  data: z.enum(['fashion-mnist', 'mnist-digits']).default('fashion-mnist'),
  dataset: z.string().min(1).optional(),
});

await runCli(async () => {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: { model: { type: 'string' }, data: { type: 'string' }, dataset: { type: 'string' } },
  });
  const args = Args.parse(values);
  if (!fs.existsSync(path.join(args.model, 'model.json')))
    throw badInput(`No model folder at ${args.model}: model.json is missing. ${USAGE}`);
  const images =
    args.data === 'mnist-digits'
      ? readDigitsSplits().train
      : readIdxSplit(args.dataset ?? getEnv().LOUPE_DATASET_DIR, 'train').images;
  await initBackend();
  const { model, meta } = await loadModel(args.model);
  const int8 = await int8CalibrationOf(model, images.pixels, images.count);
  model.dispose();
  if (!int8) throw badInput(`${args.model}: the model has no ReLU output to quantize, so it has no int8 export.`);
  writeFileAtomic(
    path.join(args.model, 'meta.json'),
    Buffer.from(`${JSON.stringify(ModelMeta.parse({ ...meta, int8 }), null, 2)}\n`),
  );
  fs.rmSync(path.join(args.model, INT8_ONNX_FILE), { force: true });
  const exported = ensureInt8OnnxModel(args.model);
  console.log(
    JSON.stringify({
      model: args.model,
      calibration: { data: args.data, images: int8.images, percentile: int8.percentile },
      ranges: int8.ranges,
      out: path.join(args.model, INT8_ONNX_FILE),
      bytes: exported?.bytes.byteLength ?? 0,
    }),
  );
});
