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
import { GraphBuilder, OPSET } from '@/lib/ml/onnx/graph-builder';
import {
  foldBatchNorm,
  readBatchNorm,
  transposeConvKernel,
  transposeDepthwiseKernel,
  type BatchNormParams,
} from '@/lib/ml/onnx/weights';
import type { SavedLayer, SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'logits';

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

type Layout = 'nhwc' | 'nchw' | 'flat';

/** The tensor flowing between layers: its name, layout and shape without the batch axis. */
interface Flow {
  name: string;
  layout: Layout;
  /** nhwc: [H, W, C]; nchw: [C, H, W]; flat: [F]. */
  shape: number[];
}

export interface ExportOnnxOptions {
  /** Graph name and doc string, e.g. the architecture. */
  name?: string;
  /** Key/value pairs stored in the model's metadata_props (class names, temperature, ...). */
  metadata?: Record<string, string>;
}

function unsupported(layer: SavedLayer, why: string): AppError {
  return new AppError(
    'bad_input',
    `Cannot export layer "${layer.name}" (${layer.className}) to ONNX: ${why}. The model can still be scored with TensorFlow.js (LOUPE_SCORER=tfjs).`,
  );
}

function pair(value: unknown, fallback: [number, number]): [number, number] {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return [value, value];
  const [a, b] = value as number[];
  return [a ?? fallback[0], b ?? a ?? fallback[1]];
}

/** TensorFlow's padding for one spatial axis: output size and [before, after] pads. */
function padAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: string,
): [number, number, number] {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'valid') return [Math.floor((size - span) / stride) + 1, 0, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  // TensorFlow puts the odd pixel after (ONNX's SAME_UPPER); explicit pads make that certain.
  return [out, Math.floor(total / 2), total - Math.floor(total / 2)];
}

function weight(model: SavedLayersModel, layer: SavedLayer, key: string) {
  const found = model.weights.get(`${layer.name}/${key}`);
  if (!found) throw unsupported(layer, `its weight "${key}" is missing from the weights file`);
  return found;
}

class Exporter {
  readonly g = new GraphBuilder();

  constructor(private readonly model: SavedLayersModel) {}

  toChannelsFirst(flow: Flow): Flow {
    if (flow.layout === 'nchw') return flow;
    const [h, w, c] = flow.shape as [number, number, number];
    const name = this.g.addNode({
      op: 'Transpose',
      inputs: [flow.name],
      output: 'to_nchw',
      attributes: { perm: [0, 3, 1, 2] },
    });
    return { name, layout: 'nchw', shape: [c, h, w] };
  }

  requireSpatial(layer: SavedLayer, flow: Flow): Flow {
    if (flow.layout === 'flat') throw unsupported(layer, 'it needs an image-shaped input but gets a flat one');
    if ((layer.config.data_format ?? 'channels_last') !== 'channels_last')
      throw unsupported(layer, 'only data_format channels_last is supported');
    return this.toChannelsFirst(flow);
  }

  activation(layer: SavedLayer, flow: Flow, activation: unknown): Flow {
    const name = String(activation ?? 'linear');
    const op = (o: string, attributes?: Record<string, number | { float: number }>) => ({
      ...flow,
      name: this.g.addNode({ op: o, inputs: [flow.name], output: `${layer.name}_${o.toLowerCase()}`, attributes }),
    });
    switch (name) {
      case 'linear':
        return flow;
      case 'relu':
        return op('Relu');
      case 'sigmoid':
        return op('Sigmoid');
      case 'tanh':
        return op('Tanh');
      case 'elu':
        return op('Elu', { alpha: { float: 1 } });
      case 'selu':
        return op('Selu');
      case 'softplus':
        return op('Softplus');
      case 'hard_sigmoid':
      case 'hardSigmoid':
        return op('HardSigmoid', { alpha: { float: 0.2 }, beta: { float: 0.5 } });
      case 'relu6':
        return this.clip(layer, flow, 6);
      case 'softmax':
        return op('Softmax', { axis: flow.layout === 'nhwc' ? 3 : 1 });
      default:
        throw unsupported(layer, `the activation "${name}" is not supported`);
    }
  }

  clip(layer: SavedLayer, flow: Flow, max: number): Flow {
    const lo = this.g.addFloat(`${layer.name}_min`, [], new Float32Array([0]));
    const hi = this.g.addFloat(`${layer.name}_max`, [], new Float32Array([max]));
    return { ...flow, name: this.g.addNode({ op: 'Clip', inputs: [flow.name, lo, hi], output: `${layer.name}_clip` }) };
  }

  /** Standalone batch norm (not after a Conv2D/Dense it could fold into): x * scale + shift per channel. */
  batchNorm(layer: SavedLayer, flow: Flow): Flow {
    const axis = Number(layer.config.axis ?? -1);
    const rank = flow.layout === 'flat' ? 2 : 4;
    if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, `batch norm over axis ${axis} is not supported`);
    const bn = readBatchNorm(this.model, layer);
    const channels = bn.mean.length;
    const { scale, shift } = foldBatchNorm(bn, { outChannels: channels });
    const dims = flow.layout === 'nchw' ? [channels, 1, 1] : [channels];
    const s = this.g.addFloat(`${layer.name}_scale`, dims, scale);
    const b = this.g.addFloat(`${layer.name}_shift`, dims, shift);
    const scaled = this.g.addNode({ op: 'Mul', inputs: [flow.name, s], output: `${layer.name}_mul` });
    return { ...flow, name: this.g.addNode({ op: 'Add', inputs: [scaled, b], output: layer.name }) };
  }

  conv(layer: SavedLayer, input: Flow, bn: BatchNormParams | null, depthwise: boolean): Flow {
    const flow = this.requireSpatial(layer, input);
    const [cin, h, w] = flow.shape as [number, number, number];
    const kernel = weight(this.model, layer, depthwise ? 'depthwise_kernel' : 'kernel');
    const [kh, kw] = kernel.shape as [number, number];
    const [sh, sw] = pair(layer.config.strides, [1, 1]);
    const [dh, dw] = pair(layer.config.dilation_rate, [1, 1]);
    const padding = String(layer.config.padding ?? 'valid');
    if (padding !== 'same' && padding !== 'valid') throw unsupported(layer, `padding "${padding}" is not supported`);
    const [oh, top, bottom] = padAxis(h, kh, sh, dh, padding);
    const [ow, left, right] = padAxis(w, kw, sw, dw, padding);
    const { dims, values } = depthwise ? transposeDepthwiseKernel(kernel) : transposeConvKernel(kernel);
    const cout = dims[0]!;
    const bias = layer.config.use_bias === false ? null : weight(this.model, layer, 'bias').values;
    const folded = foldBatchNorm(bn, { outChannels: cout, weights: values, bias });
    const inputs = [flow.name, this.g.addFloat(`${layer.name}_W`, dims, folded.scaledWeights!)];
    if (bn || bias) inputs.push(this.g.addFloat(`${layer.name}_B`, [cout], folded.shift));
    const name = this.g.addNode({
      op: 'Conv',
      inputs,
      output: layer.name,
      attributes: {
        kernel_shape: [kh, kw],
        strides: [sh, sw],
        dilations: [dh, dw],
        pads: [top, left, bottom, right],
        group: depthwise ? cin : 1,
      },
    });
    return this.activation(layer, { name, layout: 'nchw', shape: [cout, oh, ow] }, layer.config.activation);
  }

  pool(layer: SavedLayer, input: Flow, op: 'MaxPool' | 'AveragePool'): Flow {
    const flow = this.requireSpatial(layer, input);
    const [c, h, w] = flow.shape as [number, number, number];
    const [kh, kw] = pair(layer.config.pool_size, [2, 2]);
    const [sh, sw] = pair(layer.config.strides, [kh, kw]);
    const padding = String(layer.config.padding ?? 'valid');
    if (padding !== 'same' && padding !== 'valid') throw unsupported(layer, `padding "${padding}" is not supported`);
    const [oh, top, bottom] = padAxis(h, kh, sh, 1, padding);
    const [ow, left, right] = padAxis(w, kw, sw, 1, padding);
    // AveragePool's default count_include_pad=0 matches TensorFlow: padded cells are not counted.
    const name = this.g.addNode({
      op,
      inputs: [flow.name],
      output: layer.name,
      attributes: { kernel_shape: [kh, kw], strides: [sh, sw], pads: [top, left, bottom, right] },
    });
    return { name, layout: 'nchw', shape: [c, oh, ow] };
  }

  globalPool(layer: SavedLayer, input: Flow, op: 'GlobalMaxPool' | 'GlobalAveragePool'): Flow {
    const flow = this.requireSpatial(layer, input);
    const pooled = this.g.addNode({ op, inputs: [flow.name], output: `${layer.name}_pool` });
    const name = this.g.addNode({ op: 'Flatten', inputs: [pooled], output: layer.name, attributes: { axis: 1 } });
    return { name, layout: 'flat', shape: [flow.shape[0]!] };
  }

  flatten(layer: SavedLayer, flow: Flow): Flow {
    if (flow.layout === 'flat') return flow;
    let source = flow.name;
    // Back to channels-last first, so the flattened order is tfjs's (h, w, c).
    if (flow.layout === 'nchw')
      source = this.g.addNode({
        op: 'Transpose',
        inputs: [source],
        output: `${layer.name}_nhwc`,
        attributes: { perm: [0, 2, 3, 1] },
      });
    const size = flow.shape.reduce((a, b) => a * b, 1);
    const name = this.g.addNode({ op: 'Flatten', inputs: [source], output: layer.name, attributes: { axis: 1 } });
    return { name, layout: 'flat', shape: [size] };
  }

  dense(layer: SavedLayer, flow: Flow, bn: BatchNormParams | null): Flow {
    if (flow.layout !== 'flat')
      throw unsupported(layer, 'a Dense layer on an image-shaped input needs a Flatten before it');
    const kernel = weight(this.model, layer, 'kernel');
    const [fin, units] = kernel.shape as [number, number];
    if (fin !== flow.shape[0])
      throw unsupported(layer, `its kernel takes ${fin} inputs but the layer before gives ${flow.shape[0]}`);
    const bias = layer.config.use_bias === false ? null : weight(this.model, layer, 'bias').values;
    // Dense kernels are [in, out]: the out-channel is the last axis, so fold per column.
    const folded = foldBatchNorm(bn, { outChannels: units, weights: kernel.values, bias, channelsLast: true });
    const inputs = [flow.name, this.g.addFloat(`${layer.name}_W`, [fin, units], folded.scaledWeights!)];
    if (bn || bias) inputs.push(this.g.addFloat(`${layer.name}_B`, [units], folded.shift));
    const name = this.g.addNode({ op: 'Gemm', inputs, output: layer.name });
    return this.activation(layer, { name, layout: 'flat', shape: [units] }, layer.config.activation);
  }
}

/** Index of the next layer after `i` that is not an inference identity (dropout). */
function nextComputing(layers: SavedLayer[], i: number): number {
  let j = i + 1;
  while (j < layers.length && INFERENCE_IDENTITY.has(layers[j]!.className)) j++;
  return j;
}

/** ONNX protobuf bytes for a saved layers model. Same input, same bytes. */
export function exportSavedModelToOnnx(model: SavedLayersModel, options: ExportOnnxOptions = {}): Uint8Array {
  const ex = new Exporter(model);
  const { g } = ex;
  const inputShape = model.inputShape;
  if (inputShape.length !== 3 && inputShape.length !== 1)
    throw new AppError(
      'bad_input',
      `Cannot export to ONNX: the input shape [${inputShape.join(', ')}] is neither an image nor a vector.`,
    );
  g.uniqueName(ONNX_INPUT);
  let flow: Flow = { name: ONNX_INPUT, layout: inputShape.length === 3 ? 'nhwc' : 'flat', shape: inputShape };
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
    switch (layer.className) {
      case 'Conv2D':
      case 'DepthwiseConv2D':
        if (layer.className === 'DepthwiseConv2D' && Number(c.depth_multiplier ?? 1) !== 1)
          throw unsupported(layer, 'a depth multiplier other than 1 is not supported');
        flow = ex.conv(layer, flow, bn, layer.className === 'DepthwiseConv2D');
        break;
      case 'Dense':
        flow = ex.dense(layer, flow, bn);
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
