import * as tf from '@tensorflow/tfjs';
import { assertNhwc, wrapInput, type Conv2DAttrs, type RefCountingBackend } from './tensor-info';

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
 */
export function conv2dBackpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
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

export function registerConv2dBackpropFilter(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as Conv2DAttrs & { filterShape: [number, number, number, number] };
      assertNhwc('Conv2DBackpropFilter', a);
      const b = backend as unknown as RefCountingBackend;
      return tf.tidy(() => {
        const x = wrapInput<tf.Rank.R4>(inputs.x!, b);
        const dy = wrapInput<tf.Rank.R4>(inputs.dy!, b);
        return conv2dBackpropFilter(x, dy, a.filterShape, a);
      });
    },
  });
}
