/**
 * A model version as a file to take away: `model.onnx` (ONNX, opset 13; exported on first
 * request for versions saved before export existed), its int8 export (`model.int8.onnx`, for
 * versions with an int8 calibration) or the TensorFlow.js folder as a zip.
 */
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { zipSync } from 'fflate';
import { z } from 'zod';
import { type Reader, firstRow } from '@/db/client';
import { catalogues, modelVersions } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { ensureInt8OnnxModel, ensureOnnxModel } from '@/lib/ml/onnx/model-file';

export const ModelDownloadFormat = z.enum(['onnx', 'onnx-int8', 'tfjs'], { error: 'format is onnx, onnx-int8 or tfjs' });
export type ModelDownloadFormat = z.infer<typeof ModelDownloadFormat>;

export interface ModelDownload {
  filename: string;
  contentType: string;
  body: Uint8Array;
}

const TFJS_FILES = ['model.json', 'weights.bin', 'meta.json'];

/** A file name made of the catalogue slug and version name, with nothing a header could choke on. */
function safeName(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** Reads a version for download: admins and ops (who may read models), a 404 for an unknown id. */
export async function downloadModelVersion(
  db: Reader,
  input: { actor: Actor | null; modelVersionId: number; format: ModelDownloadFormat },
): Promise<ModelDownload> {
  requirePermission(input.actor, 'dashboards.read');
  const row = await db
    .select({ name: modelVersions.name, dir: modelVersions.weightsPath, catalogue: catalogues.slug })
    .from(modelVersions)
    .innerJoin(catalogues, eq(catalogues.id, modelVersions.catalogueId))
    .where(eq(modelVersions.id, input.modelVersionId)).limit(1).then(firstRow);
  if (!row) throw new AppError('not_found', `There is no model version ${input.modelVersionId}.`);
  const base = safeName(row.catalogue, row.name);
  if (!fs.existsSync(path.join(row.dir, 'model.json')))
    throw new AppError('not_found', `The files of model version ${row.name} are no longer on this server.`);
  if (input.format === 'onnx') {
    return { filename: `${base}.onnx`, contentType: 'application/octet-stream', body: ensureOnnxModel(row.dir).bytes };
  }
  if (input.format === 'onnx-int8') {
    const int8 = ensureInt8OnnxModel(row.dir);
    if (!int8)
      throw new AppError(
        'conflict',
        `Model version ${row.name} has no int8 export: it was saved before int8 calibration existed. An operator can add one with "npm run quantize-model -- --model <its folder>".`,
      );
    return { filename: `${base}.int8.onnx`, contentType: 'application/octet-stream', body: int8.bytes };
  }
  return { filename: `${base}-tfjs.zip`, contentType: 'application/zip', body: zipTfjsFolder(row.dir, base) };
}

/** The TensorFlow.js files of a model folder (model.json, weights.bin, meta.json) as a zip, under `base/`. */
export function zipTfjsFolder(dir: string, base: string): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const name of TFJS_FILES) {
    // The folder of a version: any path in the database, so the web build must not trace it.
    const file = path.join(/*turbopackIgnore: true*/ dir, name);
    if (fs.existsSync(/*turbopackIgnore: true*/ file)) files[`${base}/${name}`] = fs.readFileSync(/*turbopackIgnore: true*/ file);
  }
  // Fixed timestamps: the same version downloads as the same bytes.
  return zipSync(files, { level: 6, mtime: new Date('2000-01-01T00:00:00Z') });
}
