import { AppError } from '@/lib/errors';
import { GraphBuilder } from '@/lib/ml/onnx/graph-builder';
import {
  foldBatchNorm,
  readBatchNorm,
  transposeConvKernel,
  transposeDepthwiseKernel,
  type BatchNormParams,
} from '@/lib/ml/onnx/weights';
import { activationScale, addActivationQdq, addQuantizedWeights } from '@/lib/ml/onnx/quantize';
import type { SavedLayer, SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

// One tfjs layer at a time -> ONNX nodes, tracking the layout and shape of the tensor between
// layers (export.ts walks the model and decides which batch norms fold).

type Layout = 'nhwc' | 'nchw' | 'flat';

/** The tensor flowing between layers: its name, layout and shape without the batch axis. */
export interface Flow {
  name: string;
  layout: Layout;
  /** nhwc: [H, W, C]; nchw: [C, H, W]; flat: [F]. */
  shape: number[];
  /** Int8 export: the uint8 scale this tensor was quantized at (it is a DequantizeLinear's output). */
  scale?: number;
}

export function unsupported(layer: SavedLayer, why: string): AppError {
  return new AppError(
    'bad_input',
    `Cannot export layer "${layer.name}" (${layer.className}) to ONNX: ${why}. The model can still be scored with TensorFlow.js (LOUPE_SCORER=tfjs).`,
  );
}

export function pair(value: unknown, fallback: [number, number]): [number, number] {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return [value, value];
  const [a, b] = value as number[];
  return [a ?? fallback[0], b ?? a ?? fallback[1]];
}

/** TensorFlow's padding for one spatial axis: output size and [before, after] pads. */
export function padAxis(
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

export class Exporter {
  readonly g = new GraphBuilder();

  /**
   * @param int8Ranges for an int8 export: calibrated output range per layer whose output is a
   *   ReLU (lib/ml/activation-ranges.ts); those outputs are quantized, and so are the Conv and
   *   Dense layers between two quantized tensors.
   */
  constructor(
    private readonly model: SavedLayersModel,
    readonly int8Ranges: Readonly<Record<string, number>> | null = null,
  ) {}

  /** After a data-movement op (transpose, max pool, flatten) of a quantized tensor: quantized again at its scale. */
  private keepScale(flow: Flow): Flow {
    if (flow.scale === undefined) return flow;
    return { ...flow, name: addActivationQdq(this.g, flow.name, flow.scale) };
  }

  /** The input, quantized at the pixels' own scale (pixel / 255 comes back as the pixel byte). */
  quantizeInput(flow: Flow, scale: number): Flow {
    return { ...flow, name: addActivationQdq(this.g, flow.name, scale), scale };
  }

  toChannelsFirst(flow: Flow): Flow {
    if (flow.layout === 'nchw') return flow;
    const [h, w, c] = flow.shape as [number, number, number];
    const name = this.g.addNode({
      op: 'Transpose',
      inputs: [flow.name],
      output: 'to_nchw',
      attributes: { perm: [0, 3, 1, 2] },
    });
    return this.keepScale({ name, layout: 'nchw', shape: [c, h, w], scale: flow.scale });
  }

  requireSpatial(layer: SavedLayer, flow: Flow): Flow {
    if (flow.layout === 'flat') throw unsupported(layer, 'it needs an image-shaped input but gets a flat one');
    if ((layer.config.data_format ?? 'channels_last') !== 'channels_last')
      throw unsupported(layer, 'only data_format channels_last is supported');
    return this.toChannelsFirst(flow);
  }

  activation(layer: SavedLayer, flow: Flow, activation: unknown): Flow {
    const name = String(activation ?? 'linear');
    const op = (o: string, attributes?: Record<string, number | { float: number }>): Flow => ({
      ...flow,
      scale: undefined,
      name: this.g.addNode({ op: o, inputs: [flow.name], output: `${layer.name}_${o.toLowerCase()}`, attributes }),
    });
    switch (name) {
      case 'linear':
        return flow;
      case 'relu': {
        const relu = op('Relu');
        const ranges = this.int8Ranges;
        if (!ranges || !Object.hasOwn(ranges, layer.name)) return relu;
        const range = ranges[layer.name]!;
        const scale = activationScale(range);
        return { ...relu, name: addActivationQdq(this.g, relu.name, scale), scale };
      }
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
    return {
      ...flow,
      scale: undefined,
      name: this.g.addNode({ op: 'Clip', inputs: [flow.name, lo, hi], output: `${layer.name}_clip` }),
    };
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
    return { ...flow, scale: undefined, name: this.g.addNode({ op: 'Add', inputs: [scaled, b], output: layer.name }) };
  }

  /** Weights and bias as inputs of a Conv or Gemm: int8 behind DequantizeLinear when `quantize` and the input is quantized. */
  private weightInputs(
    layer: SavedLayer,
    flow: Flow,
    quantize: boolean,
    w: { dims: number[]; values: Float32Array; bias: Float32Array | null; channelsLast: boolean },
  ): string[] {
    const out = w.channelsLast ? w.dims.at(-1)! : w.dims[0]!;
    if (quantize && flow.scale !== undefined) {
      const q = addQuantizedWeights(this.g, layer.name, {
        dims: w.dims,
        weights: w.values,
        bias: w.bias ?? new Float32Array(out),
        inputScale: flow.scale,
        channelsLast: w.channelsLast,
      });
      return [flow.name, q.weight, q.bias];
    }
    const inputs = [flow.name, this.g.addFloat(`${layer.name}_W`, w.dims, w.values)];
    if (w.bias) inputs.push(this.g.addFloat(`${layer.name}_B`, [out], w.bias));
    return inputs;
  }

  conv(layer: SavedLayer, input: Flow, bn: BatchNormParams | null, depthwise: boolean, quantize = false): Flow {
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
    const inputs = this.weightInputs(layer, flow, quantize, {
      dims,
      values: folded.scaledWeights!,
      bias: bn || bias ? folded.shift : null,
      channelsLast: false,
    });
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

  /**
   * Element-wise sum of two or more same-shaped tensors (a residual connection), in channels-first
   * layout when they are images. The sum of two quantized tensors is not quantized: the ReLU
   * after it is, when calibrated.
   */
  add(layer: SavedLayer, inputs: Flow[]): Flow {
    if (inputs.length < 2) throw unsupported(layer, 'it needs at least two inputs');
    const flows = inputs.map((flow) => (flow.layout === 'flat' ? flow : this.requireSpatial(layer, flow)));
    const shape = flows[0]!.shape;
    if (flows.some((flow) => flow.layout !== flows[0]!.layout || flow.shape.join() !== shape.join()))
      throw unsupported(
        layer,
        `its inputs differ in shape (${flows.map((f) => `[${f.shape.join(', ')}]`).join(', ')})`,
      );
    let name = flows[0]!.name;
    for (let i = 1; i < flows.length; i++)
      name = this.g.addNode({
        op: 'Add',
        inputs: [name, flows[i]!.name],
        output: i === flows.length - 1 ? layer.name : `${layer.name}_${i}`,
      });
    return { name, layout: flows[0]!.layout, shape };
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
    // The max of quantized values is one of them: still at the input's scale. An average is not.
    if (op === 'MaxPool') return this.keepScale({ name, layout: 'nchw', shape: [c, oh, ow], scale: flow.scale });
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
    if (flow.layout === 'nchw' && flow.scale !== undefined) source = addActivationQdq(this.g, source, flow.scale);
    const size = flow.shape.reduce((a, b) => a * b, 1);
    const name = this.g.addNode({ op: 'Flatten', inputs: [source], output: layer.name, attributes: { axis: 1 } });
    return this.keepScale({ name, layout: 'flat', shape: [size], scale: flow.scale });
  }

  dense(layer: SavedLayer, flow: Flow, bn: BatchNormParams | null, quantize = false): Flow {
    if (flow.layout !== 'flat')
      throw unsupported(layer, 'a Dense layer on an image-shaped input needs a Flatten before it');
    const kernel = weight(this.model, layer, 'kernel');
    const [fin, units] = kernel.shape as [number, number];
    if (fin !== flow.shape[0])
      throw unsupported(layer, `its kernel takes ${fin} inputs but the layer before gives ${flow.shape[0]}`);
    const bias = layer.config.use_bias === false ? null : weight(this.model, layer, 'bias').values;
    // Dense kernels are [in, out]: the out-channel is the last axis, so fold per column.
    const folded = foldBatchNorm(bn, { outChannels: units, weights: kernel.values, bias, channelsLast: true });
    const inputs = this.weightInputs(layer, flow, quantize, {
      dims: [fin, units],
      values: folded.scaledWeights!,
      bias: bn || bias ? folded.shift : null,
      channelsLast: true,
    });
    const name = this.g.addNode({ op: 'Gemm', inputs, output: layer.name });
    return this.activation(layer, { name, layout: 'flat', shape: [units] }, layer.config.activation);
  }
}
