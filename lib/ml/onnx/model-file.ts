/**
 * `model.onnx` beside a model version's tfjs files: written by saveModel for new versions,
 * exported here on first use for versions saved before ONNX export existed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportSavedModelToOnnx } from '@/lib/ml/onnx/export';
import { decodeOnnxModel, EXPORTER_VERSION, PRODUCER_NAME } from '@/lib/ml/onnx/graph-builder';
import { parseSavedLayersModel, readSavedLayersModel, type SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

import { INT8_ONNX_FILE, ONNX_FILE, type OnnxPrecision } from '@/lib/ml/onnx/precision';

export { INT8_ONNX_FILE, ONNX_FILE };

/** What Loupe's meta.json contributes to the ONNX file's metadata (all optional). */
export interface OnnxMetaSource {
  arch?: string;
  classNames?: readonly string[];
  temperature?: number;
  testTimeAugmentation?: string;
  int8?: { ranges: Record<string, number> };
}

function metadataOf(meta: OnnxMetaSource | null): Record<string, string> {
  if (!meta) return {};
  const out: Record<string, string> = {};
  if (meta.classNames) out.class_names = JSON.stringify(meta.classNames);
  if (meta.temperature !== undefined) out.temperature = String(meta.temperature);
  if (meta.testTimeAugmentation) out.test_time_augmentation = meta.testTimeAugmentation;
  out.input_scaling = 'pixel / 255, 0 = background';
  return out;
}

function readMetaJson(dir: string): OnnxMetaSource | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as OnnxMetaSource;
  } catch {
    return null;
  }
}

/** The float32 export, or the int8 one (null when `meta` has no calibration for it). */
function exportWithMeta(model: SavedLayersModel, meta: OnnxMetaSource | null, precision: 'int8'): Uint8Array | null;
function exportWithMeta(model: SavedLayersModel, meta: OnnxMetaSource | null, precision?: 'fp32'): Uint8Array;
function exportWithMeta(
  model: SavedLayersModel,
  meta: OnnxMetaSource | null,
  precision: OnnxPrecision = 'fp32',
): Uint8Array | null {
  const name = meta?.arch ?? 'loupe';
  if (precision === 'fp32') return exportSavedModelToOnnx(model, { name, metadata: metadataOf(meta) });
  if (!meta?.int8) return null;
  return exportSavedModelToOnnx(model, {
    name,
    metadata: { ...metadataOf(meta), precision: 'int8' },
    int8Ranges: meta.int8.ranges,
  });
}

/** ONNX bytes for a saved model folder (model.json, weights.bin, meta.json), computed now. */
export function exportModelDir(dir: string): Uint8Array {
  return exportWithMeta(readSavedLayersModel(dir), readMetaJson(dir));
}

/** The int8 export of a saved model folder, computed now; null when its meta.json has no calibration. */
export function exportInt8ModelDir(dir: string): Uint8Array | null {
  const meta = readMetaJson(dir);
  return meta?.int8 ? exportWithMeta(readSavedLayersModel(dir), meta, 'int8') : null;
}

/** Writes `bytes` to `file` by rename from a sibling temp file, so a reader never sees half a file. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const staging = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(staging, bytes);
  fs.renameSync(staging, file);
}

/** Whether `bytes` are a model.onnx this version of the exporter wrote (else it is exported again). */
function isCurrentExport(bytes: Uint8Array): boolean {
  try {
    const model = decodeOnnxModel(bytes);
    return model.producerName === PRODUCER_NAME && model.producerVersion === EXPORTER_VERSION;
  } catch {
    return false;
  }
}

/**
 * The folder's model.onnx bytes, exporting (and writing) it first when it is missing or was
 * written by an older exporter (or is not a Loupe export: the tfjs files are the source). A folder
 * that cannot be written (a read-only checkout) still gets the bytes, just not the file.
 */
export function ensureOnnxModel(dir: string): { bytes: Uint8Array; exported: boolean } {
  return ensureExport(dir, ONNX_FILE, () => exportModelDir(dir))!;
}

/**
 * The folder's model.int8.onnx bytes, exported first when missing or stale as above; null when
 * the version has no int8 calibration (saved before it existed, or without calibration images).
 */
export function ensureInt8OnnxModel(dir: string): { bytes: Uint8Array; exported: boolean } | null {
  return ensureExport(dir, INT8_ONNX_FILE, () => exportInt8ModelDir(dir));
}

function ensureExport(
  dir: string,
  fileName: string,
  exportNow: () => Uint8Array | null,
): { bytes: Uint8Array; exported: boolean } | null {
  const file = path.join(dir, fileName);
  if (fs.existsSync(file)) {
    const existing = fs.readFileSync(file);
    if (isCurrentExport(existing)) return { bytes: existing, exported: false };
  }
  const bytes = exportNow();
  if (!bytes) return null;
  try {
    writeFileAtomic(file, bytes);
  } catch (error) {
    console.error(`[loupe] could not write ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { bytes, exported: true };
}

/**
 * Writes model.onnx into a model folder being saved (saveModel's staging folder, renamed into
 * place with the rest). A model the exporter cannot convert is still saved, without the file
 * (it is then scored with tfjs); the reason is logged.
 */
export function writeOnnxForSave(
  dir: string,
  input: { modelJson: object; weightData: ArrayBuffer | Uint8Array; meta: OnnxMetaSource },
): void {
  let saved: SavedLayersModel;
  try {
    saved = parseSavedLayersModel(input.modelJson, new Uint8Array(input.weightData));
    fs.writeFileSync(path.join(dir, ONNX_FILE), exportWithMeta(saved, input.meta));
  } catch (error) {
    console.error(
      `[loupe] model saved without ${ONNX_FILE}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  try {
    const int8 = exportWithMeta(saved, input.meta, 'int8');
    if (int8) fs.writeFileSync(path.join(dir, INT8_ONNX_FILE), int8);
  } catch (error) {
    console.error(
      `[loupe] model saved without ${INT8_ONNX_FILE}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
