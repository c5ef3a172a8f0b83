/**
 * A saved tfjs-layers model (model.json + weights.bin, as saveModel writes them) read as plain
 * data: the layer list from the Keras-style topology and every weight as a Float32Array.
 * The exporter works from this, not from a loaded tf.LayersModel, so exporting a model does
 * not need TensorFlow.js or a backend in the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '@/lib/errors';

export interface SavedLayer {
  className: string;
  name: string;
  /** The layer's config as saved (snake_case keys, Keras style). */
  config: Record<string, unknown>;
}

export interface SavedWeight {
  shape: number[];
  values: Float32Array;
}

export interface SavedLayersModel {
  /** Input shape without the batch axis, e.g. [28, 28, 1]. */
  inputShape: number[];
  layers: SavedLayer[];
  /** Keyed `<layer name>/<weight name>`, e.g. `conv2d_Conv2D1/kernel`. */
  weights: Map<string, SavedWeight>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

interface ModelJson {
  modelTopology?: { class_name?: string; config?: { layers?: unknown } };
  weightsManifest?: { weights: WeightSpec[] }[];
}

/** Reads a saved layers model from its topology and weight bytes; throws a sentence on anything it cannot use. */
export function parseSavedLayersModel(modelJson: ModelJson, weightData: Uint8Array): SavedLayersModel {
  const topology = modelJson.modelTopology;
  if (topology?.class_name !== 'Sequential')
    throw new AppError(
      'bad_input',
      `Only Sequential tfjs-layers models can be exported to ONNX; this one is ${topology?.class_name ?? 'unknown'}.`,
    );
  const rawLayers = topology.config?.layers;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0)
    throw new AppError('bad_input', 'The model topology has no layers to export.');
  const layers = rawLayers.map((raw: { class_name?: unknown; config?: Record<string, unknown> }, i): SavedLayer => {
    const config = raw.config ?? {};
    return {
      className: String(raw.class_name),
      name: typeof config.name === 'string' ? config.name : `layer_${i}`,
      config,
    };
  });
  const first = layers[0]!.config;
  const batchInputShape = (first.batch_input_shape ?? first.batchInputShape) as (number | null)[] | undefined;
  if (!Array.isArray(batchInputShape) || batchInputShape.slice(1).some((d) => typeof d !== 'number'))
    throw new AppError('bad_input', `The first layer (${layers[0]!.name}) does not declare a fixed input shape.`);

  const weights = new Map<string, SavedWeight>();
  // Copied into an aligned buffer: Float32Array views need 4-byte alignment.
  const bytes = new Uint8Array(weightData);
  let offset = 0;
  for (const spec of (modelJson.weightsManifest ?? []).flatMap((group) => group.weights)) {
    if (spec.dtype !== 'float32')
      throw new AppError('bad_input', `Weight ${spec.name} is ${spec.dtype}; only float32 weights can be exported.`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > bytes.byteLength)
      throw new AppError('bad_input', `The weights file is shorter than the manifest says (at ${spec.name}).`);
    weights.set(spec.name, {
      shape: spec.shape,
      values: new Float32Array(bytes.buffer, bytes.byteOffset + offset, size),
    });
    offset += size * 4;
  }
  return { inputShape: batchInputShape.slice(1) as number[], layers, weights };
}

/** Reads model.json and weights.bin from a folder written by saveModel. */
export function readSavedLayersModel(dir: string): SavedLayersModel {
  const modelFile = path.join(dir, 'model.json');
  const weightsFile = path.join(dir, 'weights.bin');
  for (const file of [modelFile, weightsFile])
    if (!fs.existsSync(/*turbopackIgnore: true*/ file))
      throw new AppError('not_found', `No model at ${dir}: ${path.basename(file)} is missing.`);
  const json = JSON.parse(fs.readFileSync(/*turbopackIgnore: true*/ modelFile, 'utf8')) as ModelJson;
  return parseSavedLayersModel(json, fs.readFileSync(/*turbopackIgnore: true*/ weightsFile));
}
