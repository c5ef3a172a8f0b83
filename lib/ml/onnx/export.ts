/**
 * A saved tfjs-layers Sequential model -> an ONNX graph (opset 13) with the same logits.
 *
 * Input `pixels`: float32 [N, H, W, C] (tfjs's channels-last layout, values in [0, 1]); output
 * `logits`: float32 [N, k]. Temperature and mirror averaging are not in the graph: Loupe applies
 * them to the logits of every scorer alike.
 *
 * Inside, convolutions and pooling run channels-first (what ONNX's Conv and pools expect): the
 * input is transposed once before the first of them, and back to channels-last before Flatten,
 * so the flattened order (and so the first Dense layer's weights) is tfjs's. Batch norm after a
 * Conv2D or Dense layer without activation is folded into its weights; dropout is left out.
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

/** Index of the next layer after `i` that is not an inference identity (dropout). */
function nextComputing(layers: SavedLayer[], i: number): number {
  let j = i + 1;
  while (j < layers.length && INFERENCE_IDENTITY.has(layers[j]!.className)) j++;
  return j;
}

/** Whether layer i's output, or that of the ReLU after it (past a folded batch norm and dropout), is calibrated. */
function outputCalibrated(layers: SavedLayer[], i: number, ranges: Readonly<Record<string, number>>): boolean {
  const layer = layers[i]!;
  if ((layer.config.activation ?? 'linear') !== 'linear')
    return layer.config.activation === 'relu' && Object.hasOwn(ranges, layer.name);
  let j = nextComputing(layers, i);
  if (layers[j]?.className === 'BatchNormalization') j = nextComputing(layers, j);
  const after = layers[j];
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
  let flow: Flow = { name: ONNX_INPUT, layout: inputShape.length === 3 ? 'nhwc' : 'flat', shape: inputShape };
  if (ranges) flow = ex.quantizeInput(flow, PIXEL_SCALE);
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const c = layer.config;
    // Batch norm straight after a Conv2D/Dense without activation is folded into its weights.
    const foldable =
      ['Conv2D', 'DepthwiseConv2D', 'Dense'].includes(layer.className) && (c.activation ?? 'linear') === 'linear';
    const next = nextComputing(layers, i);
    const bnLayer = foldable && layers[next]?.className === 'BatchNormalization' ? layers[next]! : null;
    const bn =
      bnLayer && [-1, flow.layout === 'flat' ? 1 : 3].includes(Number(bnLayer.config.axis ?? -1))
        ? readBatchNorm(model, bnLayer)
        : null;
    const quantize = ranges !== null && flow.scale !== undefined && outputCalibrated(layers, i, ranges);
    switch (layer.className) {
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
    if (bn) i = next;
  }
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
