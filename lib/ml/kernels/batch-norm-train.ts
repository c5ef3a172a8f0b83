import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor, type SimdKernels } from './simd';
import { asHeapBackend, sizeOf } from './wasm-heap';

/**
 * Batch normalisation while training as two kernels instead of ~30. tf.layers normalises a
 * batch with `moments` (Mean, Sub, Square, Mean) and `batchNorm`, and autodiff then walks all
 * of them back (Sum, Mean, Tile, Multiply, RealDiv, ... per layer); here one pass over the
 * activations gives the statistics and the output, and one kernel gives every gradient:
 *
 *   xhat = (x - mean) * invStd,  y = gamma * xhat + beta        (statistics over all rows)
 *   dbeta = sum(dy),  dgamma = sum(dy * xhat)
 *   dx = gamma * invStd * (dy - dbeta / m - xhat * dgamma / m)  (m rows)
 *
 * Channels are the last axis; every leading axis is a row. Sums are accumulated in float64.
 * Where the SIMD kernels run (a channel count divisible by 4), each pass is one of them and
 * only the per-channel arithmetic is JavaScript; otherwise plain loops do the same.
 */
export const BATCH_NORM_TRAIN = 'LoupeBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'LoupeBatchNormTrainGrad';

type Attrs = { epsilon: number };
type Heap = ReturnType<typeof asHeapBackend>;

function floats(heap: Heap, info: tf.TensorInfo): Float32Array {
  return heap.typedArrayFromHeap(info) as Float32Array;
}

const forward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { epsilon } = attrs as unknown as Attrs;
  const heap = asHeapBackend(backend);
  const c = x.shape[x.shape.length - 1]!;
  const rows = sizeOf(x.shape) / c;
  const simd = c % 4 === 0 ? simdKernelsFor(backend) : null;
  if (simd) return forwardSimd(simd, heap, x, gamma, beta, epsilon, rows, c);
  const src = floats(heap, x);
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  for (let r = 0, off = 0; r < rows; r++, off += c)
    for (let j = 0; j < c; j++) {
      const v = src[off + j]!;
      sum[j]! += v;
      sumSq[j]! += v * v;
    }
  const meanOut = heap.makeOutput([c], 'float32');
  const varianceOut = heap.makeOutput([c], 'float32');
  const mean = floats(heap, meanOut);
  const variance = floats(heap, varianceOut);
  const g = floats(heap, gamma);
  const b = floats(heap, beta);
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    const mu = sum[j]! / rows;
    // Biased variance, as tf.moments and tf.layers' moving variance use.
    const v = Math.max(0, sumSq[j]! / rows - mu * mu);
    mean[j] = mu;
    variance[j] = v;
    scale[j] = g[j]! / Math.sqrt(v + epsilon);
    shift[j] = b[j]! - mu * scale[j]!;
  }
  const yOut = heap.makeOutput(x.shape, 'float32');
  // makeOutput may grow the wasm memory, which detaches earlier views: read them again.
  const xs = floats(heap, x);
  const y = floats(heap, yOut);
  for (let r = 0, off = 0; r < rows; r++, off += c)
    for (let j = 0; j < c; j++) y[off + j] = xs[off + j]! * scale[j]! + shift[j]!;
  return [yOut, meanOut, varianceOut];
};

const backward: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, mean, variance, gamma } = inputs as Record<string, tf.TensorInfo>;
  const { epsilon } = attrs as unknown as Attrs;
  const heap = asHeapBackend(backend);
  const c = x!.shape[x!.shape.length - 1]!;
  const rows = sizeOf(x!.shape) / c;
  const simd = c % 4 === 0 ? simdKernelsFor(backend) : null;
  if (simd) return backwardSimd(simd, heap, dy!, x!, mean!, variance!, gamma!, epsilon, rows, c);
  const dxOut = heap.makeOutput(x!.shape, 'float32');
  const dGammaOut = heap.makeOutput([c], 'float32');
  const dBetaOut = heap.makeOutput([c], 'float32');
  const dys = floats(heap, dy!);
  const xs = floats(heap, x!);
  const mu = floats(heap, mean!);
  const v = floats(heap, variance!);
  const g = floats(heap, gamma!);
  const invStd = new Float64Array(c);
  for (let j = 0; j < c; j++) invStd[j] = 1 / Math.sqrt(v[j]! + epsilon);
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  for (let r = 0, off = 0; r < rows; r++, off += c)
    for (let j = 0; j < c; j++) {
      const d = dys[off + j]!;
      sumDy[j]! += d;
      sumDyXhat[j]! += d * (xs[off + j]! - mu[j]!) * invStd[j]!;
    }
  const dGamma = floats(heap, dGammaOut);
  const dBeta = floats(heap, dBetaOut);
  const k = new Float32Array(c);
  const meanDy = new Float32Array(c);
  const meanDyXhat = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    dGamma[j] = sumDyXhat[j]!;
    dBeta[j] = sumDy[j]!;
    k[j] = g[j]! * invStd[j]!;
    meanDy[j] = sumDy[j]! / rows;
    meanDyXhat[j] = sumDyXhat[j]! / rows;
  }
  const dx = floats(heap, dxOut);
  for (let r = 0, off = 0; r < rows; r++, off += c)
    for (let j = 0; j < c; j++) {
      const xhat = (xs[off + j]! - mu[j]!) * invStd[j]!;
      dx[off + j] = k[j]! * (dys[off + j]! - meanDy[j]! - xhat * meanDyXhat[j]!);
    }
  return [dxOut, dGammaOut, dBetaOut];
};

/** The forward pass with the SIMD kernels: one pass for the sums, one for y. */
function forwardSimd(
  simd: SimdKernels,
  heap: Heap,
  x: tf.TensorInfo,
  gamma: tf.TensorInfo,
  beta: tf.TensorInfo,
  epsilon: number,
  rows: number,
  c: number,
): tf.TensorInfo[] {
  // Every allocation first: each may grow the heap, which detaches the views taken before it.
  const yOut = heap.makeOutput(x.shape, 'float32');
  const meanOut = heap.makeOutput([c], 'float32');
  const varianceOut = heap.makeOutput([c], 'float32');
  const scratch = simd.scratch(16 * c + 12 * c);
  const coef = scratch + 16 * c;
  const xAt = simd.offsetOf(x);
  simd.chanSums(xAt, xAt, rows, c, scratch);
  const sums = new Float64Array(simd.buffer(), scratch, 2 * c);
  const k = new Float32Array(simd.buffer(), coef, 3 * c);
  const mean = floats(heap, meanOut);
  const variance = floats(heap, varianceOut);
  const g = floats(heap, gamma);
  const b = floats(heap, beta);
  for (let j = 0; j < c; j++) {
    const mu = sums[j]! / rows;
    const v = Math.max(0, sums[c + j]! / rows - mu * mu);
    mean[j] = mu;
    variance[j] = v;
    const scale = g[j]! / Math.sqrt(v + epsilon);
    k[j] = scale;
    k[c + j] = 0;
    k[2 * c + j] = b[j]! - mu * scale;
  }
  simd.chanAffine(xAt, xAt, rows, c, coef, simd.offsetOf(yOut));
  return [yOut, meanOut, varianceOut];
}

/**
 * The backward pass with the SIMD kernels: one pass for sum(dy) and sum(dy * x), one for dx as
 * A * dy + B * x + C, the formula above with the per-channel terms gathered.
 */
function backwardSimd(
  simd: SimdKernels,
  heap: Heap,
  dy: tf.TensorInfo,
  x: tf.TensorInfo,
  mean: tf.TensorInfo,
  variance: tf.TensorInfo,
  gamma: tf.TensorInfo,
  epsilon: number,
  rows: number,
  c: number,
): tf.TensorInfo[] {
  const dxOut = heap.makeOutput(x.shape, 'float32');
  const dGammaOut = heap.makeOutput([c], 'float32');
  const dBetaOut = heap.makeOutput([c], 'float32');
  const scratch = simd.scratch(16 * c + 12 * c);
  const coef = scratch + 16 * c;
  const xAt = simd.offsetOf(x);
  const dyAt = simd.offsetOf(dy);
  simd.chanSums(dyAt, xAt, rows, c, scratch);
  const sums = new Float64Array(simd.buffer(), scratch, 2 * c);
  const k = new Float32Array(simd.buffer(), coef, 3 * c);
  const mu = floats(heap, mean);
  const v = floats(heap, variance);
  const g = floats(heap, gamma);
  const dGamma = floats(heap, dGammaOut);
  const dBeta = floats(heap, dBetaOut);
  for (let j = 0; j < c; j++) {
    const invStd = 1 / Math.sqrt(v[j]! + epsilon);
    const sumDy = sums[j]!;
    // sum(dy * xhat) = invStd * (sum(dy * x) - mean * sum(dy))
    const sumDyXhat = invStd * (sums[c + j]! - mu[j]! * sumDy);
    dGamma[j] = sumDyXhat;
    dBeta[j] = sumDy;
    const scale = g[j]! * invStd;
    const slope = (scale * invStd * sumDyXhat) / rows;
    k[j] = scale;
    k[c + j] = -slope;
    k[2 * c + j] = slope * mu[j]! - (scale * sumDy) / rows;
  }
  simd.chanAffine(dyAt, xAt, rows, c, coef, simd.offsetOf(dxOut));
  return [dxOut, dGammaOut, dBetaOut];
}

let gradientRegistered = false;

export function registerBatchNormTrain(backendName: string): void {
  tf.registerKernel({ kernelName: BATCH_NORM_TRAIN, backendName, kernelFunc: forward });
  tf.registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName, kernelFunc: backward });
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      // Only y reaches the loss; the statistics feed the moving averages, which are not trained.
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [x, gamma, mean, variance] = saved as tf.Tensor[];
      const [dx, dGamma, dBeta] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x: x!, mean: mean!, variance: variance!, gamma: gamma! }, attrs!) as [
        tf.Tensor,
        tf.Tensor,
        tf.Tensor,
      ];
      return { x: () => dx!, gamma: () => dGamma!, beta: () => dBeta! };
    },
  });
}

/**
 * y, and the batch mean and (biased) variance over every axis but the last: the training-time
 * half of tf.layers.batchNormalization, differentiable in x, gamma and beta.
 */
export function batchNormInTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const [y, mean, variance] = tf
    .engine()
    .runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** The layer class behind tf.layers.batchNormalization (not exported by name). */
type BatchNormLayer = tf.layers.Layer & {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
};

let layerPatched = false;
/** Off: every BatchNormalization takes tf.layers' own path (to compare the two, in tests and timings). */
export const fusedBatchNorm = { enabled: true };

/**
 * Makes tf.layers' BatchNormalization use the kernels above while training on `backendName`,
 * when it normalises over the last axis with both a scale and an offset (every layer Loupe
 * builds); anything else, and inference, takes the layer's own path. The moving averages are
 * updated exactly as the layer does (moving -= (moving - batch) * (1 - momentum)). The saved
 * model does not change: this replaces how the layer trains, not what it is.
 */
export function patchBatchNormForTraining(backendName: string): void {
  if (layerPatched) return;
  layerPatched = true;
  const proto = Object.getPrototypeOf(tf.layers.batchNormalization({})) as {
    call: (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
  };
  const original = proto.call;
  proto.call = function (inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = this.axis === -1 || this.axis === input.shape.length - 1;
    if (
      !fusedBatchNorm.enabled ||
      !kwargs['training'] ||
      !lastAxis ||
      !this.center ||
      !this.scale ||
      tf.getBackend() !== backendName
    )
      return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormInTraining(input, this.gamma.read(), this.beta.read(), this.epsilon);
      const decay = 1 - this.momentum;
      for (const [moving, batch] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        const current = moving.read();
        moving.write(tf.sub(current, tf.mul(tf.sub(current, batch), decay)));
      }
      return y;
    });
  };
}
