/**
 * One training step of a tfjs-layers model as an ONNX graph, so that ONNX Runtime's native
 * kernels (AVX2/AVX-512 where the CPU has them) compute it instead of the wasm backend: the
 * forward pass in training mode (batch statistics), softmax cross-entropy against one-hot
 * labels (the mean over the batch, as tf.losses.softmaxCrossEntropy), and the gradient of that
 * loss with respect to every trainable weight, written out layer by layer in reverse.
 *
 * Inputs: `pixels` float32 [N, H, W, C] (channels last, as tfjs), `labels` float32 [N, k], and
 * every weight of the supported layers in tfjs's own layout, named `<layer>/<weight>`.
 * Outputs: `loss` (a scalar), `grad:<layer>/<weight>` for each trainable weight, and each batch
 * norm's batch `mean:<layer>` and biased `variance:<layer>` (the caller moves the moving
 * statistics, as the layer would). The weights are inputs, not initializers, so one session
 * serves every step of a run.
 *
 * Supported layers: InputLayer, Conv2D (no dilation, linear or ReLU), BatchNormalization over
 * channels, ReLU, Add, MaxPooling2D (windows that do not overlap), GlobalAveragePooling2D,
 * Flatten, Dense (linear or ReLU) and Dropout (ONNX Runtime's own random masks, seeded). Anything else is refused
 * with a sentence (`unsupportedTrainLayer`), and the caller trains with TensorFlow.js.
 */
import { AppError } from '@/lib/errors';
import { GraphBuilder, OPSET } from '@/lib/ml/onnx/graph-builder';
import { pair, padAxis } from '@/lib/ml/onnx/layer-exporter';
import type { SavedLayer, SavedLayersModel } from '@/lib/ml/onnx/saved-layers';

export const TRAIN_PIXELS = 'pixels';
export const TRAIN_LABELS = 'labels';
export const TRAIN_LOSS = 'loss';

/** A weight the graph reads: `<layer>/<weight>` and its tfjs shape. */
export interface TrainWeight {
  key: string;
  shape: number[];
  trainable: boolean;
}

export interface TrainGraph {
  bytes: Uint8Array;
  /** Every weight input, in the graph's order (the input is named by the key). */
  weights: TrainWeight[];
  /** Output names of the gradients, by weight key (trainable weights only). */
  grads: Map<string, string>;
  /** Batch norm layers, with the outputs holding their batch statistics. */
  batchNorms: { layer: string; mean: string; variance: string }[];
}

export interface TrainGraphOptions {
  model: SavedLayersModel;
  /** Shapes of the layers' weights, by `<layer>/<weight>`. */
  weightShapes: ReadonlyMap<string, number[]>;
  /** Keys of the weights to compute gradients for. */
  trainable: ReadonlySet<string>;
  numClasses: number;
  /** Dropout layers are skipped (the run trains without dropout); otherwise they drop at random. */
  dropoutOff: boolean;
  /** Seeds the dropout masks (each layer its own stream); default 1. */
  seed?: number;
}

export function unsupportedTrainLayer(layer: SavedLayer, why: string): AppError {
  return new AppError(
    'bad_input',
    `Cannot train layer "${layer.name}" (${layer.className}) with ONNX Runtime: ${why}. Train it with TensorFlow.js (--engine tfjs).`,
  );
}

type Layout = 'nhwc' | 'nchw' | 'flat';

/** A tensor between layers: name, layout and shape without the batch axis ([C, H, W] for nchw). */
interface Flow {
  name: string;
  layout: Layout;
  shape: number[];
}

/** The gradient with respect to each input of a layer, given the gradient of its output (null: not needed). */
type Backward = (dy: string, needed: boolean[]) => (string | null)[];

interface Step {
  layer: SavedLayer;
  backward: Backward;
}

class TrainGraphWriter {
  readonly g = new GraphBuilder();
  private readonly constants = new Map<string, string>();
  readonly weights: TrainWeight[] = [];
  readonly gradOutputs: { key: string; from: string }[] = [];
  readonly batchNorms: { layer: string; mean: string; variance: string }[] = [];

  constructor(private readonly options: TrainGraphOptions) {}

  node(
    op: string,
    inputs: string[],
    output: string,
    attributes?: Record<string, number | number[] | { float: number }>,
  ) {
    return this.g.addNode({ op, inputs, output, attributes });
  }

  ints(values: number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) this.constants.set(key, (name = this.g.addInt64('ints', values)));
    return name;
  }

  scalar(value: number): string {
    const key = `f:${value}`;
    let name = this.constants.get(key);
    if (!name) this.constants.set(key, (name = this.g.addFloat('scalar', [], Float32Array.of(value))));
    return name;
  }

  /** A weight input; the gradient, when given, becomes an output. */
  weight(layer: SavedLayer, name: string): { input: string; shape: number[]; trainable: boolean } {
    const key = `${layer.name}/${name}`;
    const shape = this.options.weightShapes.get(key);
    if (!shape) throw unsupportedTrainLayer(layer, `its weight "${name}" is missing`);
    this.g.uniqueName(key);
    const trainable = this.options.trainable.has(key);
    this.weights.push({ key, shape, trainable });
    return { input: key, shape, trainable };
  }

  grad(layer: SavedLayer, name: string, from: string): void {
    const key = `${layer.name}/${name}`;
    if (this.options.trainable.has(key)) this.gradOutputs.push({ key, from });
  }

  toChannelsFirst(flow: Flow): { flow: Flow; back: (dx: string) => string } {
    if (flow.layout === 'nchw') return { flow, back: (dx) => dx };
    if (flow.layout === 'flat') throw new AppError('bad_input', 'An image layer reads a flat tensor.');
    const [h, w, c] = flow.shape as [number, number, number];
    const name = this.node('Transpose', [flow.name], 'to_nchw', { perm: [0, 3, 1, 2] });
    return {
      flow: { name, layout: 'nchw', shape: [c, h, w] },
      back: (dx) => this.node('Transpose', [dx], 'to_nhwc_grad', { perm: [0, 2, 3, 1] }),
    };
  }

  /** ReLU's gradient: dy where the output is positive, 0 elsewhere (tfjs's step(0) = 0). */
  reluGrad(y: string, dy: string, base: string): string {
    const positive = this.node('Greater', [y, this.scalar(0)], `${base}_positive`);
    return this.node('Where', [positive, dy, this.scalar(0)], `${base}_relu_grad`);
  }

  activation(layer: SavedLayer, x: string): { y: string; grad: (dy: string) => string } {
    const activation = String(layer.config.activation ?? 'linear');
    if (activation === 'linear') return { y: x, grad: (dy) => dy };
    if (activation !== 'relu') throw unsupportedTrainLayer(layer, `activation "${activation}" is not supported`);
    const y = this.node('Relu', [x], `${layer.name}_relu`);
    return { y, grad: (dy) => this.reluGrad(y, dy, layer.name) };
  }

  conv(layer: SavedLayer, input: Flow): { flow: Flow; backward: Backward } {
    const c = layer.config;
    if ((c.data_format ?? 'channels_last') !== 'channels_last')
      throw unsupportedTrainLayer(layer, 'only data_format channels_last is supported');
    const [dh, dw] = pair(c.dilation_rate, [1, 1]);
    if (dh !== 1 || dw !== 1) throw unsupportedTrainLayer(layer, 'dilated convolutions are not supported');
    const padding = String(c.padding ?? 'valid');
    if (padding !== 'same' && padding !== 'valid')
      throw unsupportedTrainLayer(layer, `padding "${padding}" is not supported`);
    const { flow: x, back } = this.toChannelsFirst(input);
    const [ci, h, w] = x.shape as [number, number, number];
    const kernel = this.weight(layer, 'kernel');
    const [kh, kw, kci, co] = kernel.shape as [number, number, number, number];
    if (kci !== ci) throw unsupportedTrainLayer(layer, `its kernel reads ${kci} channels, its input has ${ci}`);
    const [sh, sw] = pair(c.strides, [1, 1]);
    const [oh, top, bottom] = padAxis(h, kh, sh, 1, padding);
    const [ow, left, right] = padAxis(w, kw, sw, 1, padding);
    const useBias = c.use_bias !== false;
    const bias = useBias ? this.weight(layer, 'bias') : null;
    // tfjs [kh, kw, ci, co] -> ONNX [co, ci, kh, kw].
    const wc = this.node('Transpose', [kernel.input], `${layer.name}_w`, { perm: [3, 2, 0, 1] });
    const attributes = { kernel_shape: [kh, kw], strides: [sh, sw], pads: [top, left, bottom, right] };
    const conv = this.node('Conv', bias ? [x.name, wc, bias.input] : [x.name, wc], layer.name, attributes);
    const act = this.activation(layer, conv);
    const backward: Backward = (dyOut, needed) => {
      const dy = act.grad(dyOut);
      if (bias)
        this.grad(
          layer,
          'bias',
          this.node('ReduceSum', [dy, this.ints([0, 2, 3])], `${layer.name}_db`, { keepdims: 0 }),
        );
      if (kernel.trainable)
        this.grad(
          layer,
          'kernel',
          this.kernelGrad(layer, x.name, dy, { ci, co, kh, kw, sh, sw, oh, ow, top, left, bottom, right }),
        );
      if (!needed[0]) return [null];
      // The transpose of the convolution; output_padding restores rows the stride skipped.
      const outputPadding = [h - (sh * (oh - 1) + kh - top - bottom), w - (sw * (ow - 1) + kw - left - right)];
      const dx = this.node('ConvTranspose', [dy, wc], `${layer.name}_dx`, {
        ...attributes,
        output_padding: outputPadding,
      });
      return [back(dx)];
    };
    return { flow: { name: act.y, layout: 'nchw', shape: [co, oh, ow] }, backward };
  }

  /**
   * dW[kh, kw, ci, co] = sum over images and output positions of dy * the input patch: the
   * kh*kw shifted (strided) views of the padded input, stacked as channels [N, kh*kw*ci, oh, ow],
   * times dy [N, co, oh*ow] as one batched matrix product, summed over the batch.
   */
  kernelGrad(
    layer: SavedLayer,
    x: string,
    dy: string,
    d: { ci: number; co: number; kh: number; kw: number; sh: number; sw: number; oh: number; ow: number } & {
      top: number;
      left: number;
      bottom: number;
      right: number;
    },
  ): string {
    const base = layer.name;
    let patches = x;
    if (d.kh !== 1 || d.kw !== 1 || d.sh !== 1 || d.sw !== 1 || d.top + d.left + d.bottom + d.right > 0) {
      const padded =
        d.top + d.left + d.bottom + d.right > 0
          ? this.node('Pad', [x, this.ints([0, 0, d.top, d.left, 0, 0, d.bottom, d.right])], `${base}_xpad`)
          : x;
      const views: string[] = [];
      for (let i = 0; i < d.kh; i++)
        for (let j = 0; j < d.kw; j++)
          views.push(
            this.node(
              'Slice',
              [
                padded,
                this.ints([i, j]),
                this.ints([i + d.sh * (d.oh - 1) + 1, j + d.sw * (d.ow - 1) + 1]),
                this.ints([2, 3]),
                this.ints([d.sh, d.sw]),
              ],
              `${base}_view`,
            ),
          );
      patches = views.length === 1 ? views[0]! : this.node('Concat', views, `${base}_patches`, { axis: 1 });
    }
    const k = d.kh * d.kw * d.ci;
    const rows = this.node('Reshape', [patches, this.ints([0, k, -1])], `${base}_patch_rows`);
    const cols = this.node('Transpose', [rows], `${base}_patch_cols`, { perm: [0, 2, 1] });
    const dyRows = this.node('Reshape', [dy, this.ints([0, d.co, -1])], `${base}_dy_rows`);
    const perImage = this.node('MatMul', [dyRows, cols], `${base}_dw_each`);
    const summed = this.node('ReduceSum', [perImage, this.ints([0])], `${base}_dw_sum`, { keepdims: 0 });
    const shaped = this.node('Reshape', [summed, this.ints([d.co, d.kh, d.kw, d.ci])], `${base}_dw_ohwi`);
    return this.node('Transpose', [shaped], `${base}_dw`, { perm: [1, 2, 3, 0] });
  }

  dense(layer: SavedLayer, x: Flow): { flow: Flow; backward: Backward } {
    if (x.layout !== 'flat')
      throw unsupportedTrainLayer(layer, 'a Dense layer must read a flat tensor (Flatten first)');
    const kernel = this.weight(layer, 'kernel');
    const [inputs, units] = kernel.shape as [number, number];
    if (inputs !== x.shape[0])
      throw unsupportedTrainLayer(layer, `its kernel reads ${inputs} values, its input has ${x.shape[0]}`);
    const bias = layer.config.use_bias !== false ? this.weight(layer, 'bias') : null;
    const product = this.node('MatMul', [x.name, kernel.input], `${layer.name}_matmul`);
    const z = bias ? this.node('Add', [product, bias.input], layer.name) : product;
    const act = this.activation(layer, z);
    const backward: Backward = (dyOut, needed) => {
      const dy = act.grad(dyOut);
      if (bias)
        this.grad(layer, 'bias', this.node('ReduceSum', [dy, this.ints([0])], `${layer.name}_db`, { keepdims: 0 }));
      if (kernel.trainable)
        this.grad(layer, 'kernel', this.node('Gemm', [x.name, dy], `${layer.name}_dw`, { transA: 1 }));
      return [needed[0] ? this.node('Gemm', [dy, kernel.input], `${layer.name}_dx`, { transB: 1 }) : null];
    };
    return { flow: { name: act.y, layout: 'flat', shape: [units] }, backward };
  }

  /**
   * Batch norm with the batch's statistics (biased variance, as tf.moments): y = xhat * gamma +
   * beta. Its gradient, with per-channel sums over the batch (and positions):
   * dx = gamma * rstd * (dy - sum(dy) / m - xhat * sum(dy * xhat) / m).
   */
  batchNorm(layer: SavedLayer, input: Flow): { flow: Flow; backward: Backward } {
    const c = layer.config;
    const spatial = input.layout !== 'flat';
    const axis = Number(c.axis ?? -1);
    if (axis !== -1 && axis !== (spatial ? 3 : 1))
      throw unsupportedTrainLayer(layer, 'only batch norm over the channel (last) axis is supported');
    if (c.center === false || c.scale === false)
      throw unsupportedTrainLayer(layer, 'batch norm without its scale and offset is not supported');
    const { flow: x, back } = spatial ? this.toChannelsFirst(input) : { flow: input, back: (dx: string) => dx };
    const channels = x.shape[0]!;
    const gamma = this.weight(layer, 'gamma');
    const beta = this.weight(layer, 'beta');
    const axes = spatial ? [0, 2, 3] : [0];
    const m = spatial ? x.shape[1]! * x.shape[2]! : 1; // times the batch, applied below
    const perChannel = (t: string, base: string) =>
      spatial ? this.node('Reshape', [t, this.ints([1, channels, 1, 1])], base) : t;
    const b = layer.name;
    const mean = this.node('ReduceMean', [x.name], `${b}_mean`, { axes, keepdims: 1 });
    const centred = this.node('Sub', [x.name, mean], `${b}_centred`);
    const variance = this.node('ReduceMean', [this.node('Mul', [centred, centred], `${b}_sq`)], `${b}_var`, {
      axes,
      keepdims: 1,
    });
    const epsilon = Number(c.epsilon ?? 1e-3);
    const rstd = this.node(
      'Reciprocal',
      [this.node('Sqrt', [this.node('Add', [variance, this.scalar(epsilon)], `${b}_var_eps`)], `${b}_std`)],
      `${b}_rstd`,
    );
    const xhat = this.node('Mul', [centred, rstd], `${b}_xhat`);
    const gamma4 = perChannel(gamma.input, `${b}_gamma`);
    const y = this.node(
      'Add',
      [this.node('Mul', [xhat, gamma4], `${b}_scaled`), perChannel(beta.input, `${b}_beta`)],
      b,
    );
    const flat = (t: string, base: string) => this.node('Reshape', [t, this.ints([channels])], base);
    this.batchNorms.push({ layer: b, mean: flat(mean, `${b}_batch_mean`), variance: flat(variance, `${b}_batch_var`) });
    const backward: Backward = (dy, needed) => {
      const sumDy = this.node('ReduceSum', [dy, this.ints(axes)], `${b}_sum_dy`, { keepdims: 1 });
      const sumDyXhat = this.node(
        'ReduceSum',
        [this.node('Mul', [dy, xhat], `${b}_dy_xhat`), this.ints(axes)],
        `${b}_sum_dy_xhat`,
        {
          keepdims: 1,
        },
      );
      if (gamma.trainable) this.grad(layer, 'gamma', flat(sumDyXhat, `${b}_dgamma`));
      if (beta.trainable) this.grad(layer, 'beta', flat(sumDy, `${b}_dbeta`));
      if (!needed[0]) return [null];
      // 1/m as a tensor: m = batch * positions, and the batch size is known only at run time.
      const batch = this.node(
        'Cast',
        [this.node('Gather', [this.node('Shape', [x.name], `${b}_shape`), this.ints([0])], `${b}_n`)],
        `${b}_nf`,
        { to: 1 },
      );
      const invM = this.node('Reciprocal', [this.node('Mul', [batch, this.scalar(m)], `${b}_m`)], `${b}_inv_m`);
      const meanDy = this.node('Mul', [sumDy, invM], `${b}_mean_dy`);
      const meanDyXhat = this.node('Mul', [sumDyXhat, invM], `${b}_mean_dy_xhat`);
      const inner = this.node(
        'Sub',
        [this.node('Sub', [dy, meanDy], `${b}_dy_c`), this.node('Mul', [xhat, meanDyXhat], `${b}_xhat_term`)],
        `${b}_inner`,
      );
      const dx = this.node('Mul', [inner, this.node('Mul', [gamma4, rstd], `${b}_gain`)], `${b}_dx`);
      return [back(dx)];
    };
    return { flow: { ...x, name: y }, backward };
  }

  relu(layer: SavedLayer, x: Flow): { flow: Flow; backward: Backward } {
    const c = layer.config;
    if (c.max_value !== null && c.max_value !== undefined)
      throw unsupportedTrainLayer(layer, 'a ReLU with a maximum is not supported');
    const y = this.node('Relu', [x.name], layer.name);
    return { flow: { ...x, name: y }, backward: (dy) => [this.reluGrad(y, dy, layer.name)] };
  }

  maxPool(layer: SavedLayer, input: Flow): { flow: Flow; backward: Backward } {
    const c = layer.config;
    const [kh, kw] = pair(c.pool_size, [2, 2]);
    const [sh, sw] = pair(c.strides, [kh, kw]);
    if (sh < kh || sw < kw) throw unsupportedTrainLayer(layer, 'overlapping pooling windows are not supported');
    const padding = String(c.padding ?? 'valid');
    const { flow: x, back } = this.toChannelsFirst(input);
    const [ch, h, w] = x.shape as [number, number, number];
    const [oh, top, bottom] = padAxis(h, kh, sh, 1, padding);
    const [ow, left, right] = padAxis(w, kw, sw, 1, padding);
    const [y, indices] = this.g.addMultiOutputNode({
      op: 'MaxPool',
      inputs: [x.name],
      outputs: [layer.name, `${layer.name}_indices`],
      attributes: { kernel_shape: [kh, kw], strides: [sh, sw], pads: [top, left, bottom, right] },
    });
    const backward: Backward = (dy, needed) => {
      if (!needed[0]) return [null];
      // Each output's gradient goes to the one input that was its maximum (the first of a tie,
      // as tfjs); MaxPool's indices count over the whole tensor, so one scatter does it.
      const b = layer.name;
      const flatX = this.node('Reshape', [x.name, this.ints([-1])], `${b}_x_flat`);
      const zeros = this.node('ConstantOfShape', [this.node('Shape', [flatX], `${b}_flat_shape`)], `${b}_zeros`);
      const scattered = this.node(
        'ScatterElements',
        [
          zeros,
          this.node('Reshape', [indices!, this.ints([-1])], `${b}_indices_flat`),
          this.node('Reshape', [dy, this.ints([-1])], `${b}_dy_flat`),
        ],
        `${b}_scattered`,
        { axis: 0 },
      );
      return [back(this.node('Reshape', [scattered, this.node('Shape', [x.name], `${b}_x_shape`)], `${b}_dx`))];
    };
    return { flow: { name: y!, layout: 'nchw', shape: [ch, oh, ow] }, backward };
  }

  globalAveragePool(layer: SavedLayer, input: Flow): { flow: Flow; backward: Backward } {
    const { flow: x, back } = this.toChannelsFirst(input);
    const [ch, h, w] = x.shape as [number, number, number];
    const y = this.node('ReduceMean', [x.name], layer.name, { axes: [2, 3], keepdims: 0 });
    const backward: Backward = (dy, needed) => {
      if (!needed[0]) return [null];
      const b = layer.name;
      const each = this.node(
        'Mul',
        [this.node('Reshape', [dy, this.ints([0, ch, 1, 1])], `${b}_dy4`), this.scalar(1 / (h * w))],
        `${b}_dy_each`,
      );
      return [back(this.node('Expand', [each, this.node('Shape', [x.name], `${b}_x_shape`)], `${b}_dx`))];
    };
    return { flow: { name: y, layout: 'flat', shape: [ch] }, backward };
  }

  flatten(layer: SavedLayer, x: Flow): { flow: Flow; backward: Backward } {
    if (x.layout === 'flat') return { flow: x, backward: (dy) => [dy] };
    // tfjs flattens channels last: back to [N, H, W, C] first.
    const [h, w, ch] =
      x.layout === 'nchw' ? [x.shape[1]!, x.shape[2]!, x.shape[0]!] : (x.shape as [number, number, number]);
    const nhwc =
      x.layout === 'nchw' ? this.node('Transpose', [x.name], `${layer.name}_nhwc`, { perm: [0, 2, 3, 1] }) : x.name;
    const y = this.node('Flatten', [nhwc], layer.name, { axis: 1 });
    const backward: Backward = (dy, needed) => {
      if (!needed[0]) return [null];
      const shaped = this.node('Reshape', [dy, this.ints([-1, h, w, ch])], `${layer.name}_dy_nhwc`);
      return [
        x.layout === 'nchw' ? this.node('Transpose', [shaped], `${layer.name}_dx`, { perm: [0, 3, 1, 2] }) : shaped,
      ];
    };
    return { flow: { name: y, layout: 'flat', shape: [h * w * ch] }, backward };
  }

  /**
   * Dropout while training, as tf.layers: y = x * mask / (1 - rate). ONNX Runtime draws the
   * masks (seeded per layer, so a run repeats); the gradient goes back through the same mask.
   */
  dropout(layer: SavedLayer, x: Flow, seed: number): { flow: Flow; backward: Backward } {
    const rate = Number(layer.config.rate ?? 0);
    if (layer.config.noise_shape !== null && layer.config.noise_shape !== undefined)
      throw unsupportedTrainLayer(layer, 'dropout with a noise shape is not supported');
    const [y, mask] = this.g.addMultiOutputNode({
      op: 'Dropout',
      inputs: [x.name, this.scalar(rate), this.g.addBool(`${layer.name}_training`, true)],
      outputs: [layer.name, `${layer.name}_mask`],
      attributes: { seed },
    });
    const backward: Backward = (dy, needed) => {
      if (!needed[0]) return [null];
      const kept = this.node('Cast', [mask!], `${layer.name}_kept`, { to: 1 });
      return [
        this.node(
          'Mul',
          [this.node('Mul', [dy, kept], `${layer.name}_dy_kept`), this.scalar(1 / (1 - rate))],
          `${layer.name}_dx`,
        ),
      ];
    };
    return { flow: { ...x, name: y! }, backward };
  }

  add(layer: SavedLayer, inputs: Flow[]): { flow: Flow; backward: Backward } {
    const layouts = new Set(inputs.map((flow) => flow.layout));
    if (layouts.size !== 1 || inputs.some((flow) => flow.shape.join() !== inputs[0]!.shape.join()))
      throw unsupportedTrainLayer(layer, 'its inputs differ in shape or layout');
    const y = this.node(
      'Sum',
      inputs.map((flow) => flow.name),
      layer.name,
    );
    return { flow: { ...inputs[0]!, name: y }, backward: (dy, needed) => needed.map((n) => (n ? dy : null)) };
  }
}

/** Layers that do nothing while training here (dropout when the run switches it off, or at rate 0). */
function isIdentity(layer: SavedLayer, dropoutOff: boolean): boolean {
  if (layer.className === 'InputLayer') return true;
  if (!['Dropout', 'SpatialDropout2D'].includes(layer.className)) return false;
  if (dropoutOff || Number(layer.config.rate ?? 0) === 0) return true;
  if (layer.className === 'SpatialDropout2D')
    throw unsupportedTrainLayer(layer, 'spatial dropout while training is not supported (train with --no-dropout)');
  return false;
}

/** The training step's graph for `options.model`; throws a sentence for a layer it cannot train. */
export function buildTrainGraph(options: TrainGraphOptions): TrainGraph {
  const { model, numClasses: k } = options;
  if (model.inputShape.length !== 3)
    throw new AppError('bad_input', 'ONNX Runtime training needs an image input [H, W, C].');
  const t = new TrainGraphWriter(options);
  const { g } = t;
  g.uniqueName(TRAIN_PIXELS);
  g.uniqueName(TRAIN_LABELS);
  const input: Flow = { name: TRAIN_PIXELS, layout: 'nhwc', shape: model.inputShape };
  const flows = new Map<string, Flow>();
  // Whether a layer's output depends on a trainable weight, i.e. needs a gradient.
  const needsGrad = new Map<string, boolean>();
  const steps: Step[] = [];
  for (const layer of model.layers) {
    const inputs = layer.inbound.map((source) => flows.get(source)!);
    const first = inputs[0] ?? input;
    const before = t.weights.length;
    let result: { flow: Flow; backward: Backward } | null = null;
    if (isIdentity(layer, options.dropoutOff)) {
      flows.set(layer.name, first);
    } else {
      if (layer.className !== 'Add' && inputs.length > 1)
        throw unsupportedTrainLayer(layer, 'only Add layers may read more than one input');
      switch (layer.className) {
        case 'Conv2D':
          result = t.conv(layer, first);
          break;
        case 'Dense':
          result = t.dense(layer, first);
          break;
        case 'BatchNormalization':
          result = t.batchNorm(layer, first);
          break;
        case 'ReLU':
          result = t.relu(layer, first);
          break;
        case 'Activation':
          if (layer.config.activation !== 'relu')
            throw unsupportedTrainLayer(layer, `activation "${String(layer.config.activation)}" is not supported`);
          result = t.relu(layer, first);
          break;
        case 'MaxPooling2D':
          result = t.maxPool(layer, first);
          break;
        case 'GlobalAveragePooling2D':
          result = t.globalAveragePool(layer, first);
          break;
        case 'Flatten':
          result = t.flatten(layer, first);
          break;
        case 'Add':
          result = t.add(layer, inputs);
          break;
        case 'Dropout':
          result = t.dropout(layer, first, (options.seed ?? 1) * 1000 + steps.length);
          break;
        default:
          throw unsupportedTrainLayer(layer, `training ${layer.className} layers is not supported`);
      }
      flows.set(layer.name, result.flow);
      steps.push({ layer, backward: result.backward });
    }
    const ownTrainable = t.weights.slice(before).some((w) => w.trainable);
    needsGrad.set(layer.name, ownTrainable || layer.inbound.some((source) => needsGrad.get(source)));
  }
  const logits = flows.get(model.output)!;
  if (logits.layout !== 'flat' || logits.shape[0] !== k)
    throw new AppError('bad_input', `ONNX Runtime training needs ${k} logits per image at the model's output.`);

  // Softmax cross-entropy, the mean over the batch; its gradient is (softmax - labels) / N.
  const logp = t.node('LogSoftmax', [logits.name], 'log_probabilities', { axis: 1 });
  const perImage = t.node(
    'ReduceSum',
    [t.node('Mul', [TRAIN_LABELS, logp], 'label_log_p'), t.ints([1])],
    'image_log_p',
    {
      keepdims: 0,
    },
  );
  const loss = t.node(
    'Neg',
    [t.node('ReduceMean', [perImage], 'mean_log_p', { axes: [0], keepdims: 0 })],
    'loss_value',
  );
  const batch = t.node(
    'Cast',
    [t.node('Gather', [t.node('Shape', [logits.name], 'logits_shape'), t.ints([0])], 'batch')],
    'batch_f',
    { to: 1 },
  );
  const dLogits = t.node(
    'Div',
    [t.node('Sub', [t.node('Softmax', [logits.name], 'probabilities', { axis: 1 }), TRAIN_LABELS], 'residual'), batch],
    'logits_grad',
  );

  // The reverse pass: each layer's output gradient is the sum of what its readers send back.
  const pending = new Map<string, string[]>([[resolveIdentity(model, model.output, options.dropoutOff)!, [dLogits]]]);
  for (let i = steps.length - 1; i >= 0; i--) {
    const { layer, backward } = steps[i]!;
    // A layer's output may reach its readers through identities (dropout): follow them back.
    const parts = pending.get(layer.name);
    if (!parts || !needsGrad.get(layer.name)) continue;
    const dy = parts.length === 1 ? parts[0]! : t.node('Sum', parts, `${layer.name}_grad_sum`);
    const sources = layer.inbound.map((source) => resolveIdentity(model, source, options.dropoutOff));
    const needed = sources.map((source) => source !== null && needsGrad.get(source) === true);
    const grads = backward(dy, needed);
    grads.forEach((grad, j) => {
      const source = sources[j];
      if (grad && source) pending.set(source, [...(pending.get(source) ?? []), grad]);
    });
  }

  const outputs = [
    { from: loss, name: TRAIN_LOSS, dims: [] as (number | string)[] },
    ...t.gradOutputs.map(({ key, from }) => ({ from, name: `grad:${key}`, dims: options.weightShapes.get(key)! })),
    ...t.batchNorms.flatMap(({ layer, mean, variance }) => {
      const c = [flows.get(layer)!.shape[0]!]; // channels first in both layouts (nchw, flat)
      return [
        { from: mean, name: `mean:${layer}`, dims: c },
        { from: variance, name: `variance:${layer}`, dims: c },
      ];
    }),
  ];
  const missing = t.weights.find((w) => w.trainable && !t.gradOutputs.some((out) => out.key === w.key));
  if (missing) throw new AppError('bad_input', `ONNX Runtime training found no gradient for ${missing.key}.`);
  const bytes = g.encodeGraph({
    graphName: 'train_step',
    inputs: [
      { name: TRAIN_PIXELS, dims: ['N', ...model.inputShape] },
      { name: TRAIN_LABELS, dims: ['N', k] },
      ...t.weights.map((w) => ({ name: w.key, dims: w.shape })),
    ],
    outputs,
    docString: `One training step (loss, gradients, batch statistics) of a ${model.layers.length}-layer model. Opset ${OPSET}.`,
  });
  return {
    bytes,
    weights: t.weights,
    grads: new Map(t.gradOutputs.map(({ key }) => [key, `grad:${key}`])),
    batchNorms: t.batchNorms.map(({ layer }) => ({ layer, mean: `mean:${layer}`, variance: `variance:${layer}` })),
  };
}

/** The nearest layer at or before `name` that is not an identity (dropout, input), or null for the input. */
function resolveIdentity(model: SavedLayersModel, name: string, dropoutOff: boolean): string | null {
  let current = model.layers.find((layer) => layer.name === name)!;
  while (isIdentity(current, dropoutOff)) {
    if (current.inbound.length === 0) return null;
    current = model.layers.find((layer) => layer.name === current.inbound[0])!;
  }
  return current.name;
}
