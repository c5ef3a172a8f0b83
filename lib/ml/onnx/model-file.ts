/**
 * `model.onnx` beside a model version's tfjs files: written by saveModel for new versions,
 * exported here on first use for versions saved before ONNX export existed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exportSavedModelToOnnx } from '@/lib/ml/onnx/export';
import { decodeOnnxModel, EXPORTER_VERSION, PRODUCER_NAME } from '@/lib/ml/onnx/graph-builder';
import { parseSavedLayersModel, readSavedLayersModel, type SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

export const ONNX_FILE = 'model.onnx';

/** What Loupe's meta.json contributes to the ONNX file's metadata (all optional). */
export interface OnnxMetaSource {
  arch?: string;
  classNames?: readonly string[];
  temperature?: number;
  testTimeAugmentation?: string;
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

function exportWithMeta(model: SavedLayersModel, meta: OnnxMetaSource | null): Uint8Array {
  return exportSavedModelToOnnx(model, { name: meta?.arch ?? 'loupe', metadata: metadataOf(meta) });
}

/** ONNX bytes for a saved model folder (model.json, weights.bin, meta.json), computed now. */
export function exportModelDir(dir: string): Uint8Array {
  return exportWithMeta(readSavedLayersModel(dir), readMetaJson(dir));
}

/** ONNX bytes for model artefacts about to be saved (used by saveModel's staging folder). */
export function exportModelArtifacts(input: {
  modelJson: object;
  weightData: Uint8Array;
  meta: OnnxMetaSource;
}): Uint8Array {
  return exportWithMeta(parseSavedLayersModel(input.modelJson, input.weightData), input.meta);
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
  const file = path.join(dir, ONNX_FILE);
  if (fs.existsSync(file)) {
    const existing = fs.readFileSync(file);
    if (isCurrentExport(existing)) return { bytes: existing, exported: false };
  }
  const bytes = exportModelDir(dir);
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
  try {
    const bytes = exportModelArtifacts({ ...input, weightData: new Uint8Array(input.weightData) });
    fs.writeFileSync(path.join(dir, ONNX_FILE), bytes);
  } catch (error) {
    console.error(
      `[loupe] model saved without ${ONNX_FILE}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
