/**
 * A saved tfjs-layers model (model.json + weights.bin, as saveModel writes them) read as plain
 * data: the layer list from the Keras-style topology, each layer with the layers it reads from,
 * and every weight as a Float32Array. Sequential models and functional ones (class `Model`, one
 * input, one output, every layer applied once: a residual network) both read this way.
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
  /**
   * The layers whose outputs this one reads, in order; empty for the model's input (an
   * InputLayer, or a Sequential model's first layer, which reads the input itself).
   */
  inbound: string[];
}

export interface SavedWeight {
  shape: number[];
  values: Float32Array;
}

export interface SavedLayersModel {
  /** Input shape without the batch axis, e.g. [28, 28, 1]. */
  inputShape: number[];
  /** In an order where every layer comes after those it reads (as saved). */
  layers: SavedLayer[];
  /** The layer whose output is the model's output. */
  output: string;
  /** Keyed `<layer name>/<weight name>`, e.g. `conv2d_Conv2D1/kernel`. */
  weights: Map<string, SavedWeight>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

interface RawLayer {
  class_name?: unknown;
  name?: unknown;
  config?: Record<string, unknown>;
  inbound_nodes?: unknown;
}

interface ModelJson {
  modelTopology?: {
    class_name?: string;
    config?: { layers?: unknown; input_layers?: unknown; output_layers?: unknown };
  };
  weightsManifest?: { weights: WeightSpec[] }[];
}

const FUNCTIONAL = new Set(['Model', 'Functional']);

function layerName(raw: RawLayer, i: number): string {
  if (typeof raw.config?.name === 'string') return raw.config.name;
  return typeof raw.name === 'string' ? raw.name : `layer_${i}`;
}

/** The single layer named by a functional model's `input_layers` or `output_layers`. */
function soleEndpoint(value: unknown, what: 'input' | 'output'): string {
  const endpoints = Array.isArray(value) ? value : [];
  const name = (endpoints[0] as unknown[] | undefined)?.[0];
  if (endpoints.length !== 1 || typeof name !== 'string')
    throw new AppError(
      'bad_input',
      `Only models with one ${what} can be exported to ONNX; this one has ${endpoints.length} ${what}s.`,
    );
  return name;
}

/** A functional layer's inbound layer names; throws when the layer is applied more than once (shared). */
function inboundOf(raw: RawLayer, name: string): string[] {
  const nodes = Array.isArray(raw.inbound_nodes) ? (raw.inbound_nodes as unknown[][]) : [];
  if (nodes.length > 1)
    throw new AppError(
      'bad_input',
      `Cannot export layer "${name}" to ONNX: it is applied ${nodes.length} times, and shared layers are not supported.`,
    );
  return (nodes[0] ?? []).map((entry) => {
    const source = Array.isArray(entry) ? entry[0] : undefined;
    if (typeof source !== 'string')
      throw new AppError('bad_input', `The model topology names no source layer for an input of "${name}".`);
    return source;
  });
}

/** Reads a saved layers model from its topology and weight bytes; throws a sentence on anything it cannot use. */
export function parseSavedLayersModel(modelJson: ModelJson, weightData: Uint8Array): SavedLayersModel {
  const topology = modelJson.modelTopology;
  const className = topology?.class_name ?? 'unknown';
  const functional = FUNCTIONAL.has(className);
  if (className !== 'Sequential' && !functional)
    throw new AppError(
      'bad_input',
      `Only Sequential and functional (Model) tfjs-layers models can be exported to ONNX; this one is ${className}.`,
    );
  const rawLayers = topology?.config?.layers;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0)
    throw new AppError('bad_input', 'The model topology has no layers to export.');
  const layers = (rawLayers as RawLayer[]).map((raw, i): SavedLayer => {
    const name = layerName(raw, i);
    return {
      className: String(raw.class_name),
      name,
      config: raw.config ?? {},
      inbound: functional ? inboundOf(raw, name) : i === 0 ? [] : [layerName(rawLayers[i - 1] as RawLayer, i - 1)],
    };
  });
  const seen = new Set<string>();
  for (const layer of layers) {
    const missing = layer.inbound.find((source) => !seen.has(source));
    if (missing !== undefined)
      throw new AppError(
        'bad_input',
        `The model topology is out of order: layer "${layer.name}" reads "${missing}", which does not come before it.`,
      );
    seen.add(layer.name);
  }
  const inputName = functional ? soleEndpoint(topology?.config?.input_layers, 'input') : layers[0]!.name;
  const output = functional ? soleEndpoint(topology?.config?.output_layers, 'output') : layers.at(-1)!.name;
  const inputLayer = layers.find((layer) => layer.name === inputName);
  if (!inputLayer || !seen.has(output))
    throw new AppError('bad_input', `The model topology does not contain its own ${inputLayer ? 'output' : 'input'}.`);
  const first = inputLayer.config;
  const batchInputShape = (first.batch_input_shape ?? first.batchInputShape) as (number | null)[] | undefined;
  if (!Array.isArray(batchInputShape) || batchInputShape.slice(1).some((d) => typeof d !== 'number'))
    throw new AppError('bad_input', `The first layer (${inputLayer.name}) does not declare a fixed input shape.`);

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
  return { inputShape: batchInputShape.slice(1) as number[], layers, output, weights };
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
