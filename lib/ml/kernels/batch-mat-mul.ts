import * as tf from '@tensorflow/tfjs';
import { wrapInput, type RefCountingBackend } from './tensor-info';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * BatchMatMul with a transposed operand: materialise the transpose, then call the stock
 * kernel, which only takes its fast path when neither operand is transposed (dense-layer
 * gradients always transpose one). The transposed copy is a fresh tensor, which also keeps
 * clear of the stock kernel's operator cache keyed by the second operand's id.
 */
export function registerBatchMatMul(backendName: string): void {
  const stock = tf.getKernel(tf.BatchMatMul, backendName);
  if (!stock) return;
  const stockFunc: KernelFunc = stock.kernelFunc;
  tf.unregisterKernel(tf.BatchMatMul, backendName);
  tf.registerKernel({
    kernelName: tf.BatchMatMul,
    backendName,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return stockFunc(args);
      const b = backend as unknown as RefCountingBackend;
      return tf.tidy(() => {
        const a = wrapInput(inputs.a!, b);
        const bb = wrapInput(inputs.b!, b);
        const swapLast = (t: tf.Tensor) =>
          tf.transpose(
            t,
            [...t.shape.keys()].map((i, _, all) => (i === all.length - 1 ? i - 1 : i === all.length - 2 ? i + 1 : i)),
          );
        const aa = transposeA ? swapLast(a) : a;
        const b2 = transposeB ? swapLast(bb) : bb;
        return tf.matMul(aa, b2, false, false);
      });
    },
  });
}
