/**
 * Int8 arithmetic for the quantized ONNX export (QDQ format: QuantizeLinear/DequantizeLinear
 * pairs that ONNX Runtime fuses into QLinearConv and QGemm at load time).
 *
 * - Weights: int8, symmetric, one scale per output channel (zero point 0).
 * - Activations: uint8 with zero point 0. Only the outputs of ReLUs are quantized (never
 *   negative), at the scale range / 255, where range is a high percentile of the activation on
 *   calibration images (lib/ml/activation-ranges.ts); larger values saturate at the range.
 * - Bias: int32 at the scale input scale x weight scale, as QLinearConv expects.
 */
import type { GraphBuilder } from '@/lib/ml/onnx/graph-builder';

/** The uint8 scale of the pixels input: pixel / 255 quantizes back to the pixel byte exactly. */
export const PIXEL_SCALE = 1 / 255;

export interface QuantizedWeights {
  values: Int8Array;
  /** One scale per output channel. */
  scales: Float32Array;
}

/**
 * Symmetric per-channel int8 of `weights`, whose output channel is axis 0 (Conv: [out, ...]) or
 * the last axis with `channelsLast` (Gemm: [in, out]).
 */
export function quantizeWeights(weights: Float32Array, outChannels: number, channelsLast: boolean): QuantizedWeights {
  const per = weights.length / outChannels;
  const channel = (e: number) => (channelsLast ? e % outChannels : Math.floor(e / per));
  const maxAbs = new Float64Array(outChannels);
  for (let e = 0; e < weights.length; e++) maxAbs[channel(e)] = Math.max(maxAbs[channel(e)]!, Math.abs(weights[e]!));
  // A channel of zeros still needs a positive scale.
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1));
  const values = new Int8Array(weights.length);
  for (let e = 0; e < weights.length; e++) {
    const q = Math.round(weights[e]! / scales[channel(e)]!);
    values[e] = Math.max(-127, Math.min(127, q));
  }
  return { values, scales };
}

/** Bias as int32 at scale inputScale x weightScale[c], per output channel. */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(weightScales, (s) => inputScale * s);
  const values = Int32Array.from(bias, (b, c) =>
    Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(b / scales[c]!))),
  );
  return { values, scales };
}

/** uint8 scale for an activation whose calibrated range is `range` (a positive float). */
export function activationScale(range: number): number {
  return range > 0 && Number.isFinite(range) ? range / 255 : 1 / 255;
}

/** QuantizeLinear then DequantizeLinear of `input` at uint8 `scale`: returns the DQ output's name. */
export function addActivationQdq(g: GraphBuilder, input: string, scale: number): string {
  const s = g.addFloat(`${input}_qscale`, [], new Float32Array([scale]));
  const z = g.addTyped(`${input}_qzero`, [], 'uint8', new Uint8Array(1));
  const q = g.addNode({ op: 'QuantizeLinear', inputs: [input, s, z], output: `${input}_q` });
  return g.addNode({ op: 'DequantizeLinear', inputs: [q, s, z], output: `${input}_dq` });
}

/** int8 weights and int32 bias as initializers behind DequantizeLinear nodes: returns both DQ outputs. */
export function addQuantizedWeights(
  g: GraphBuilder,
  base: string,
  input: { dims: number[]; weights: Float32Array; bias: Float32Array; inputScale: number; channelsLast: boolean },
): { weight: string; bias: string } {
  const outChannels = input.channelsLast ? input.dims.at(-1)! : input.dims[0]!;
  const w = quantizeWeights(input.weights, outChannels, input.channelsLast);
  const b = quantizeBias(input.bias, input.inputScale, w.scales);
  const axis = input.channelsLast ? input.dims.length - 1 : 0;
  const wq = g.addTyped(`${base}_Wq`, input.dims, 'int8', w.values);
  const ws = g.addFloat(`${base}_Ws`, [outChannels], w.scales);
  const wz = g.addTyped(`${base}_Wz`, [outChannels], 'int8', new Int8Array(outChannels));
  const bq = g.addTyped(`${base}_Bq`, [outChannels], 'int32', b.values);
  const bs = g.addFloat(`${base}_Bs`, [outChannels], b.scales);
  const bz = g.addTyped(`${base}_Bz`, [outChannels], 'int32', new Int32Array(outChannels));
  return {
    weight: g.addNode({ op: 'DequantizeLinear', inputs: [wq, ws, wz], output: `${base}_W`, attributes: { axis } }),
    bias: g.addNode({ op: 'DequantizeLinear', inputs: [bq, bs, bz], output: `${base}_B`, attributes: { axis: 0 } }),
  };
}
