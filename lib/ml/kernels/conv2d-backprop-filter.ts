import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor, type SimdKernels } from './simd';
import { assertNhwc, wrapInput, type Conv2DAttrs, type RefCountingBackend } from './tensor-info';
import { asHeapBackend } from './wasm-heap';

/**
 * dW for a 2-D convolution (missing from the wasm backend, tfjs issue #8474).
 *
 * Single input channel (a first layer): im2col then one matMul. The patch matrix comes from
 * a convolution with an identity filter, which XNNPACK runs fast because ci*kh*kw is tiny.
 *
 * Otherwise: dW[kh,kw,ci,co] is a stride-1 convolution of x (as [ci,H,W,n], batch as
 * channels) with dy (as filter [oh,ow,n,co]), dilated by the forward stride, with the forward
 * padding made explicit; the [ci,kh,kw,co] result is transposed into place. Any rows past kh
 * (a 'valid' conv whose stride does not divide H-kh) are sliced off.
 *
 * A 3x3 filter with stride 1 and one pixel of padding on each side (every convolution of the
 * cnn), over one input channel or a multiple of 4 and co divisible by 8, is one SIMD kernel instead
 * (`conv3x3FilterGradSimd`): ~1.3x XNNPACK's convolution above, which runs its 14x14 "filter"
 * below the GEMM rate.
 */
/** The forward convolution's geometry (output size, padding, strides) in NHWC. */
function forwardInfo(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const info = forwardInfo(x.shape, filterShape, attrs);
  const { top, bottom, left, right } = info.padInfo;
  return tf.tidy(() => {
    if (ci === 1) {
      const eye = tf.eye(kh * kw).reshape([kh, kw, 1, kh * kw]) as tf.Tensor4D;
      const explicit: tf.backend_util.ExplicitPadding = [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ];
      const patches = tf.conv2d(x, eye, [info.strideHeight, info.strideWidth], explicit);
      const rows = x.shape[0] * info.outHeight * info.outWidth;
      const dw = tf.matMul(patches.reshape([rows, kh * kw]), dy.reshape([rows, co]), true, false);
      return dw.reshape([kh, kw, 1, co]);
    }
    const xT = tf.transpose(x, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    let out = tf.conv2d(xT, dyT, 1, explicit, 'NHWC', [info.strideHeight, info.strideWidth]);
    if (out.shape[1] !== kh || out.shape[2] !== kw) out = tf.slice(out, [0, 0, 0, 0], [ci, kh, kw, co]);
    return tf.transpose(out, [1, 2, 0, 3]);
  });
}

/** Positions of dy per chunk: a chunk's rows of dy and x stay in the first-level cache. */
const POSITIONS_PER_CHUNK = 56;

/** The SIMD kernel applies (see above), or null. */
function simdFor3x3(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): SimdKernels | null {
  const [kh, kw, ci, co] = filterShape;
  if (kh !== 3 || kw !== 3 || (ci !== 1 && ci % 4 !== 0) || co % 8 !== 0) return null;
  const strides = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  const dilations = attrs.dilations ?? 1;
  if (
    strides[0] !== 1 ||
    strides[1] !== 1 ||
    (typeof dilations === 'number' ? dilations : Math.max(...dilations)) !== 1
  )
    return null;
  const { top, bottom, left, right } = forwardInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs,
  ).padInfo;
  if (top !== 1 || bottom !== 1 || left !== 1 || right !== 1) return null;
  if (dy.shape[1] !== x.shape[1] || dy.shape[2] !== x.shape[2]) return null;
  return simdKernelsFor(backend);
}

function conv3x3FilterGradSimd(
  simd: SimdKernels,
  backend: RefCountingBackend,
  xInfo: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
): tf.TensorInfo {
  const [n, h, w] = xInfo.shape as [number, number, number, number];
  const [, , ci, co] = filterShape;
  const x = wrapInput<tf.Rank.R4>(xInfo, backend);
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  x.dispose();
  try {
    const out = asHeapBackend(backend).makeOutput(filterShape, 'float32');
    const at = simd.offsetOf(out);
    new Float32Array(simd.buffer(), at, 9 * ci * co).fill(0);
    const rows = n * h;
    const chunk = Math.max(1, Math.round(POSITIONS_PER_CHUNK / w));
    const xAt = simd.offsetOf(padded);
    const dyAt = simd.offsetOf(dy);
    for (let r = 0; r < rows; r += chunk)
      if (ci === 1) simd.convFilterGrad3x3Single(xAt, dyAt, at, h, w, co, r, Math.min(rows, r + chunk));
      else simd.convFilterGrad3x3(xAt, dyAt, at, h, w, ci, co, r, Math.min(rows, r + chunk));
    return out;
  } finally {
    padded.dispose();
  }
}

export function registerConv2dBackpropFilter(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as Conv2DAttrs & { filterShape: [number, number, number, number] };
      assertNhwc('Conv2DBackpropFilter', a);
      const b = backend as unknown as RefCountingBackend;
      const simd = simdFor3x3(backend, inputs.x!, inputs.dy!, a.filterShape, a);
      if (simd) return conv3x3FilterGradSimd(simd, b, inputs.x!, inputs.dy!, a.filterShape);
      return tf.tidy(() => {
        const x = wrapInput<tf.Rank.R4>(inputs.x!, b);
        const dy = wrapInput<tf.Rank.R4>(inputs.dy!, b);
        return conv2dBackpropFilter(x, dy, a.filterShape, a);
      });
    },
  });
}
