import * as tf from '@tensorflow/tfjs';
import { assertNhwc, wrapInput, type Conv2DAttrs, type RefCountingBackend } from './tensor-info';

/**
 * dX for a 2-D convolution, replacing the stock wasm kernel (~10x slower).
 *
 * dX is a stride-1 convolution of dy with the filter reversed in both spatial axes and its
 * in/out channels swapped ("full" correlation), padded with kh-1-top rows above. For a
 * forward stride s > 1, dy is first spread out with s-1 zeros between neighbours (a
 * transposed convolution), which costs s*s more multiplies but keeps one fast conv call.
 */
export function conv2dBackpropInput(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.Tensor4D {
  const [n, h, w, ci] = inputShape;
  const [kh, kw, , co] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  return tf.tidy(() => {
    let spread: tf.Tensor4D = dy;
    const oh = info.outHeight;
    const ow = info.outWidth;
    if (sh > 1 || sw > 1) {
      // [n,oh,1,ow,1,co] padded to [n,oh,sh,ow,sw,co] puts each value at the top-left of an sh x sw cell.
      const cells = tf.pad(dy.reshape([n, oh, 1, ow, 1, co]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      spread = cells
        .reshape([n, oh * sh, ow * sw, co])
        .slice([0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, co]) as tf.Tensor4D;
    }
    const flipped = flipFilter(filter);
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = h - spread.shape[1] - top + kh - 1;
    const right = w - spread.shape[2] - left + kw - 1;
    // Negative padding happens when the forward pass ignored trailing rows ('valid' with a
    // stride that does not divide); crop instead, and zero-fill what the forward never saw.
    const cropTop = Math.max(0, -top);
    const cropLeft = Math.max(0, -left);
    let src = spread;
    if (cropTop > 0 || cropLeft > 0) src = src.slice([0, cropTop, cropLeft, 0]);
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ];
    let dx = tf.conv2d(src, flipped, 1, explicit);
    if (dx.shape[1] > h || dx.shape[2] > w) dx = dx.slice([0, 0, 0, 0], [n, h, w, ci]);
    if (dx.shape[1] < h || dx.shape[2] < w)
      dx = tf.pad(dx, [
        [0, 0],
        [0, h - dx.shape[1]],
        [0, w - dx.shape[2]],
        [0, 0],
      ]);
    return dx;
  });
}

/**
 * The filter reversed in both spatial axes with its in/out channels swapped, [kh,kw,co,ci], in
 * one loop: tf.reverse then tf.transpose took ~4 ms a cnn step for a few hundred kilobytes.
 */
export function flipFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const src = filter.dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++) {
      const from = (i * kw + j) * ci * co;
      const to = ((kh - 1 - i) * kw + (kw - 1 - j)) * co * ci;
      for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) out[to + o * ci + c] = src[from + c * co + o]!;
    }
  return tf.tensor4d(out, [kh, kw, co, ci]);
}

export function registerConv2dBackpropInput(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as Conv2DAttrs & { inputShape: [number, number, number, number] };
      assertNhwc('Conv2DBackpropInput', a);
      const b = backend as unknown as RefCountingBackend;
      return tf.tidy(() => {
        const dy = wrapInput<tf.Rank.R4>(inputs.dy!, b);
        const filter = wrapInput<tf.Rank.R4>(inputs.filter!, b);
        return conv2dBackpropInput(dy, filter, a.inputShape, a);
      });
    },
  });
}
