/**
 * Weight arithmetic for the ONNX export: tfjs kernel layouts -> ONNX's, and batch norm folded
 * into the layer before it. Folding is computed in float64 and rounded once to float32.
 */
import { AppError } from '@/lib/errors';
import type { SavedLayer, SavedLayersModel, SavedWeight } from '@/lib/ml/onnx/saved-layers';

export interface BatchNormParams {
  gamma: Float32Array | null;
  beta: Float32Array | null;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** A batch norm layer's inference parameters (moving statistics, optional scale and centre). */
export function readBatchNorm(model: SavedLayersModel, layer: SavedLayer): BatchNormParams {
  const get = (key: string) => model.weights.get(`${layer.name}/${key}`)?.values ?? null;
  const mean = get('moving_mean');
  const variance = get('moving_variance');
  if (!mean || !variance)
    throw new AppError(
      'bad_input',
      `Cannot export layer "${layer.name}" (BatchNormalization) to ONNX: its moving statistics are missing.`,
    );
  return {
    gamma: layer.config.scale === false ? null : get('gamma'),
    beta: layer.config.center === false ? null : get('beta'),
    mean,
    variance,
    epsilon: Number(layer.config.epsilon ?? 1e-3),
  };
}

/**
 * y = (x·W + b - mean) * gamma / sqrt(var + eps) + beta, rewritten as x·(W * s) + shift with
 * s = gamma / sqrt(var + eps) and shift = (b - mean) * s + beta, per output channel.
 * `weights` has the output channel as its first axis, or as its last with `channelsLast`.
 * Without batch norm, s = 1 and shift = b (or 0).
 */
export function foldBatchNorm(
  bn: BatchNormParams | null,
  options: { outChannels: number; weights?: Float32Array; bias?: Float32Array | null; channelsLast?: boolean },
): { scale: Float32Array; shift: Float32Array; scaledWeights: Float32Array | null } {
  const n = options.outChannels;
  const scale64 = new Float64Array(n);
  const shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const b = options.bias?.[c] ?? 0;
    if (!bn) {
      scale64[c] = 1;
      shift[c] = b;
      continue;
    }
    const s = (bn.gamma?.[c] ?? 1) / Math.sqrt(bn.variance[c]! + bn.epsilon);
    scale64[c] = s;
    shift[c] = (b - bn.mean[c]!) * s + (bn.beta?.[c] ?? 0);
  }
  let scaledWeights: Float32Array | null = null;
  if (options.weights) {
    const w = options.weights;
    scaledWeights = new Float32Array(w.length);
    const perChannel = w.length / n;
    for (let e = 0; e < w.length; e++) {
      const c = options.channelsLast ? e % n : Math.floor(e / perChannel);
      scaledWeights[e] = bn ? w[e]! * scale64[c]! : w[e]!;
    }
  }
  return { scale: Float32Array.from(scale64), shift, scaledWeights };
}

/** tfjs Conv2D kernel [kh, kw, cin, cout] -> ONNX Conv weight [cout, cin, kh, kw]. */
export function transposeConvKernel(kernel: SavedWeight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = kernel.shape as [number, number, number, number];
  const out = new Float32Array(kernel.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + i) * kh + y) * kw + x] = kernel.values[((y * kw + x) * cin + i) * cout + o]!;
  return { dims: [cout, cin, kh, kw], values: out };
}

/** tfjs DepthwiseConv2D kernel [kh, kw, cin, 1] -> ONNX grouped Conv weight [cin, 1, kh, kw]. */
export function transposeDepthwiseKernel(kernel: SavedWeight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin] = kernel.shape as [number, number, number, number];
  const out = new Float32Array(kernel.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++) out[(i * kh + y) * kw + x] = kernel.values[(y * kw + x) * cin + i]!;
  return { dims: [cin, 1, kh, kw], values: out };
}
