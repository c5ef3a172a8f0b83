import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor } from './simd';
import { asHeapBackend } from './wasm-heap';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * MaxPoolGrad by a direct scatter: each dy goes to the first maximum of its window, the
 * same tie rule as the `cpu` backend. Ties are common (batch norm after ReLU gives many
 * equal zeros), and a rule that credits every tied position multiplies the gradient.
 * A 2x2 pool with stride 2 and no padding over channels divisible by 4 (every pool of the cnn
 * and lenet5) runs as one SIMD kernel with the same rule; anything else takes the loop below.
 */
export function registerMaxPoolGrad(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.MaxPoolGrad,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const a = attrs as unknown as PoolAttrs;
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        a.filterSize,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      const heap = asHeapBackend(backend);
      const out = heap.makeOutput(input.shape, 'float32');
      const simd =
        info.filterHeight === 2 &&
        info.filterWidth === 2 &&
        info.strideHeight === 2 &&
        info.strideWidth === 2 &&
        info.padInfo.top === 0 &&
        info.padInfo.left === 0 &&
        info.outHeight === Math.floor(info.inHeight / 2) &&
        info.outWidth === Math.floor(info.inWidth / 2) &&
        info.inChannels % 4 === 0
          ? simdKernelsFor(backend)
          : null;
      if (simd) {
        simd.maxPoolGrad2x2(
          simd.offsetOf(input),
          simd.offsetOf(dy),
          simd.offsetOf(out),
          info.batchSize,
          info.inHeight,
          info.inWidth,
          info.inChannels,
          info.outHeight,
          info.outWidth,
        );
        return out;
      }
      const x = heap.typedArrayFromHeap(input) as Float32Array;
      const g = heap.typedArrayFromHeap(dy) as Float32Array;
      const dx = heap.typedArrayFromHeap(out) as Float32Array;
      dx.fill(0);
      const {
        batchSize,
        inHeight,
        inWidth,
        inChannels: c,
        outHeight,
        outWidth,
        strideHeight,
        strideWidth,
        filterHeight,
        filterWidth,
      } = info;
      const padTop = info.padInfo.top;
      const padLeft = info.padInfo.left;
      for (let b = 0; b < batchSize; b++) {
        const xBase = b * inHeight * inWidth * c;
        for (let oy = 0; oy < outHeight; oy++) {
          const y0 = oy * strideHeight - padTop;
          const yStart = Math.max(0, y0);
          const yEnd = Math.min(inHeight, y0 + filterHeight);
          for (let ox = 0; ox < outWidth; ox++) {
            const x0 = ox * strideWidth - padLeft;
            const xStart = Math.max(0, x0);
            const xEnd = Math.min(inWidth, x0 + filterWidth);
            const gBase = ((b * outHeight + oy) * outWidth + ox) * c;
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity;
              let bestAt = -1;
              for (let yy = yStart; yy < yEnd; yy++) {
                for (let xx = xStart; xx < xEnd; xx++) {
                  const at = xBase + (yy * inWidth + xx) * c + ch;
                  const v = x[at]!;
                  if (v > best) {
                    best = v;
                    bestAt = at;
                  }
                }
              }
              if (bestAt >= 0) dx[bestAt]! += g[gBase + ch]!;
            }
          }
        }
      }
      return out;
    },
  });
}
