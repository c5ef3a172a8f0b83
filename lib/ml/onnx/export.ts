/**
 * A saved tfjs-layers model (Sequential, or functional with Add layers: a residual net) -> an
 * ONNX graph (opset 13) with the same logits.
 *
 * Input `pixels`: float32 [N, H, W, C] (tfjs's channels-last layout, values in [0, 1]); output
 * `logits`: float32 [N, k]. Temperature and mirror averaging are not in the graph: Loupe applies
 * them to the logits of every scorer alike.
 *
 * Inside, convolutions and pooling run channels-first (what ONNX's Conv and pools expect): the
 * input is transposed once before the first of them, and back to channels-last before Flatten,
 * so the flattened order (and so the first Dense layer's weights) is tfjs's. Batch norm that alone
 * reads a Conv2D or Dense layer without activation is folded into its weights; dropout is left out.
 */
import { AppError } from '@/lib/errors';
import { OPSET } from '@/lib/ml/onnx/graph-builder';
import { Exporter, unsupported, type Flow } from '@/lib/ml/onnx/layer-exporter';
import { PIXEL_SCALE } from '@/lib/ml/onnx/quantize';
import { readBatchNorm } from '@/lib/ml/onnx/weights';
import type { SavedLayer, SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

import { ONNX_INPUT, ONNX_OUTPUT } from '@/lib/ml/onnx/io-names';

export { ONNX_INPUT, ONNX_OUTPUT };

/** Layers that compute the identity at inference. */
const INFERENCE_IDENTITY = new Set([
  'InputLayer',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianDropout',
  'GaussianNoise',
  'AlphaDropout',
]);

export interface ExportOnnxOptions {
  /** Graph name and doc string, e.g. the architecture. */
  name?: string;
  /** Key/value pairs stored in the model's metadata_props (class names, temperature, ...). */
  metadata?: Record<string, string>;
  /**
   * Int8 export (QDQ): the calibrated output range of each layer whose output is a ReLU
   * (lib/ml/activation-ranges.ts). Those outputs are quantized to uint8, and every Conv2D or
   * Dense layer whose input and output are both quantized gets int8 weights; the rest (the
   * logits layer at least) stays float32.
   */
  int8Ranges?: Readonly<Record<string, number>>;
}

/** Who reads each layer's output, by layer name. */
type Consumers = ReadonlyMap<string, SavedLayer[]>;

function consumersOf(model: SavedLayersModel): Consumers {
  const consumers = new Map<string, SavedLayer[]>(model.layers.map((layer) => [layer.name, []]));
  for (const layer of model.layers) for (const source of layer.inbound) consumers.get(source)!.push(layer);
  return consumers;
}

/**
 * The one layer that computes on `layer`'s output, past inference identities (dropout), or null
 * when the output is read by more than one layer (a skip connection), by none, or is the model's.
 */
function soleReader(model: SavedLayersModel, consumers: Consumers, layer: SavedLayer): SavedLayer | null {
  let current = layer;
  for (;;) {
    const readers = consumers.get(current.name)!;
    if (readers.length !== 1 || current.name === model.output) return null;
    current = readers[0]!;
    if (!INFERENCE_IDENTITY.has(current.className)) return current;
  }
}

/** Whether `layer`'s output, or that of the ReLU after it (past a folded batch norm and dropout), is calibrated. */
function outputCalibrated(
  model: SavedLayersModel,
  consumers: Consumers,
  layer: SavedLayer,
  ranges: Readonly<Record<string, number>>,
): boolean {
  if ((layer.config.activation ?? 'linear') !== 'linear')
    return layer.config.activation === 'relu' && Object.hasOwn(ranges, layer.name);
  let after = soleReader(model, consumers, layer);
  if (after?.className === 'BatchNormalization') after = soleReader(model, consumers, after);
  if (!after || !Object.hasOwn(ranges, after.name)) return false;
  if (after.className === 'ReLU') return after.config.max_value === null || after.config.max_value === undefined;
  return after.className === 'Activation' && after.config.activation === 'relu';
}

/** ONNX protobuf bytes for a saved layers model. Same input, same bytes. */
export function exportSavedModelToOnnx(model: SavedLayersModel, options: ExportOnnxOptions = {}): Uint8Array {
  const ranges = options.int8Ranges ?? null;
  const ex = new Exporter(model, ranges);
  const { g } = ex;
  const inputShape = model.inputShape;
  if (inputShape.length !== 3 && inputShape.length !== 1)
    throw new AppError(
      'bad_input',
      `Cannot export to ONNX: the input shape [${inputShape.join(', ')}] is neither an image nor a vector.`,
    );
  g.uniqueName(ONNX_INPUT);
  let input: Flow = { name: ONNX_INPUT, layout: inputShape.length === 3 ? 'nhwc' : 'flat', shape: inputShape };
  if (ranges) input = ex.quantizeInput(input, PIXEL_SCALE);
  const consumers = consumersOf(model);
  // Each layer's output, by layer name; a folded batch norm's is its conv's.
  const flows = new Map<string, Flow>();
  const folded = new Set<string>();
  for (const layer of model.layers) {
    if (folded.has(layer.name)) continue;
    const c = layer.config;
    const inputs = layer.inbound.map((source) => flows.get(source)!);
    if (layer.className === 'Add') {
      flows.set(layer.name, ex.add(layer, inputs));
      continue;
    }
    if (inputs.length > 1) throw unsupported(layer, 'only Add layers may read more than one input');
    let flow = inputs[0] ?? input;
    // Batch norm that alone reads a Conv2D/Dense without activation is folded into its weights.
    const foldable =
      ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(layer.className) && (c.activation ?? 'linear') === 'linear';
    const reader = foldable ? soleReader(model, consumers, layer) : null;
    const bnLayer = reader?.className === 'BatchNormalization' ? reader : null;
    const bn =
      bnLayer && [-1, flow.layout === 'flat' ? 1 : 3].includes(Number(bnLayer.config.axis ?? -1))
        ? readBatchNorm(model, bnLayer)
        : null;
    const quantize = ranges !== null && flow.scale !== undefined && outputCalibrated(model, consumers, layer, ranges);
    switch (layer.className) {
      case 'InputLayer':
        flow = input;
        break;
      case 'Conv2D':
      case 'DepthwiseConv2D':
        if (layer.className === 'DepthwiseConv2D' && Number(c.depth_multiplier ?? 1) !== 1)
          throw unsupported(layer, 'a depth multiplier other than 1 is not supported');
        flow = ex.conv(layer, flow, bn, layer.className === 'DepthwiseConv2D', quantize);
        break;
      case 'Dense':
        flow = ex.dense(layer, flow, bn, quantize);
        break;
      case 'BatchNormalization':
        flow = ex.batchNorm(layer, flow);
        break;
      case 'ReLU':
        flow =
          c.max_value === null || c.max_value === undefined
            ? ex.activation(layer, flow, 'relu')
            : ex.clip(layer, flow, Number(c.max_value));
        break;
      case 'LeakyReLU':
        flow = {
          ...flow,
          scale: undefined,
          name: g.addNode({
            op: 'LeakyRelu',
            inputs: [flow.name],
            output: layer.name,
            attributes: { alpha: { float: Number(c.alpha ?? 0.3) } },
          }),
        };
        break;
      case 'ELU':
        flow = {
          ...flow,
          scale: undefined,
          name: g.addNode({
            op: 'Elu',
            inputs: [flow.name],
            output: layer.name,
            attributes: { alpha: { float: Number(c.alpha ?? 1) } },
          }),
        };
        break;
      case 'Activation':
        flow = ex.activation(layer, flow, c.activation);
        break;
      case 'Softmax':
        if (Number(c.axis ?? -1) !== -1)
          throw unsupported(layer, 'softmax over an axis other than the last is not supported');
        flow = ex.activation(layer, flow, 'softmax');
        break;
      case 'MaxPooling2D':
        flow = ex.pool(layer, flow, 'MaxPool');
        break;
      case 'AveragePooling2D':
        flow = ex.pool(layer, flow, 'AveragePool');
        break;
      case 'GlobalMaxPooling2D':
        flow = ex.globalPool(layer, flow, 'GlobalMaxPool');
        break;
      case 'GlobalAveragePooling2D':
        flow = ex.globalPool(layer, flow, 'GlobalAveragePool');
        break;
      case 'Flatten':
        flow = ex.flatten(layer, flow);
        break;
      default:
        if (INFERENCE_IDENTITY.has(layer.className)) break;
        throw unsupported(layer, `the exporter does not know ${layer.className} layers`);
    }
    flows.set(layer.name, flow);
    if (bn && bnLayer) {
      folded.add(bnLayer.name);
      flows.set(bnLayer.name, flow);
    }
  }
  const flow = flows.get(model.output)!;
  if (flow.layout !== 'flat' || flow.name === ONNX_INPUT)
    throw new AppError('bad_input', 'Cannot export to ONNX: the model does not end in one row of logits per image.');
  const name = options.name ?? 'loupe';
  return g.encode({
    graphName: name,
    input: { name: ONNX_INPUT, dims: ['N', ...inputShape] },
    output: { from: flow.name, name: ONNX_OUTPUT, dims: ['N', flow.shape[0]!] },
    docString: `${name}: input "${ONNX_INPUT}" float32 [N, ${inputShape.join(', ')}] (pixels / 255, channels last); output "${ONNX_OUTPUT}" float32 [N, ${flow.shape[0]}] (softmax(logits / temperature) gives the calibrated probabilities). Opset ${OPSET}.`,
    metadata: options.metadata ?? {},
  });
}
