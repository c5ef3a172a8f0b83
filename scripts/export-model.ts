/**
 * `npm run export-model -- --model <dir|version id> [--out <file>] [--format onnx|onnx-int8|tfjs]`
 *
 * Writes a model as ONNX (default; `model.onnx` unless --out says otherwise), its int8 ONNX
 * export (versions with an int8 calibration), or its
 * TensorFlow.js folder as a zip. --model is a model folder, or the id or name of a model
 * version in the database (LOUPE_DB). Prints one JSON line: what was written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { eq, or } from 'drizzle-orm';
import { z } from 'zod';
import { getDb, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { modelVersions } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { exportInt8ModelDir, exportModelDir, writeFileAtomic } from '@/lib/ml/onnx/model-file';
import { ModelDownloadFormat, zipTfjsFolder } from '@/lib/models/download';
import { runCli } from '@/scripts/cli';

const USAGE = 'usage: npm run export-model -- --model <dir|version id> [--out <file>] [--format onnx|onnx-int8|tfjs]';

const Args = z.object({
  model: z.string({ error: `--model is required. ${USAGE}` }).min(1),
  out: z.string().min(1).optional(),
  format: ModelDownloadFormat.default('onnx'),
});

function int8Export(dir: string): Uint8Array {
  const bytes = exportInt8ModelDir(dir);
  if (!bytes)
    throw new AppError(
      'bad_input',
      `${dir} has no int8 calibration; add one with "npm run quantize-model -- --model ${dir}".`,
    );
  return bytes;
}

/** A folder as given, else a model version by id or name. */
async function resolveModelDir(model: string): Promise<{ dir: string; name: string }> {
  if (fs.existsSync(path.join(model, 'model.json'))) return { dir: model, name: path.basename(path.resolve(model)) };
  const id = /^\d+$/.test(model) ? Number(model) : -1;
  const db = getDb();
  await migrateDb(db);
  const row = await db
    .select({ dir: modelVersions.weightsPath, name: modelVersions.name })
    .from(modelVersions)
    .where(or(eq(modelVersions.id, id), eq(modelVersions.name, model)))
    .limit(1)
    .then(firstRow);
  if (!row)
    throw new AppError(
      'not_found',
      `No model folder at ${model} and no model version with that id or name in the database.`,
    );
  return row;
}

await runCli(async () => {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: { model: { type: 'string' }, out: { type: 'string' }, format: { type: 'string' } },
  });
  const args = Args.parse(values);
  const { dir, name } = await resolveModelDir(args.model);
  const out = args.out ?? { onnx: 'model.onnx', 'onnx-int8': 'model.int8.onnx', tfjs: `${name}-tfjs.zip` }[args.format];
  const bytes =
    args.format === 'onnx'
      ? exportModelDir(dir)
      : args.format === 'onnx-int8'
        ? int8Export(dir)
        : zipTfjsFolder(dir, name);
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileAtomic(out, bytes);
  console.log(JSON.stringify({ model: dir, format: args.format, out, bytes: bytes.byteLength }));
});
