import * as tf from '@tensorflow/tfjs';
import { asHeapBackend, sizeOf } from './wasm-heap';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * Sum and Mean over leading axes ([n,h,w,c] -> [c], as batch norm and bias gradients do) by a
 * row-accumulating loop. The stock wasm kernels transpose the whole tensor first so that
 * the reduced axes are innermost. Other reductions go to the stock kernel.
 */
function leadingReduction(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x!;
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return stock(args);
    const heap = asHeapBackend(backend);
    const rows = sizeOf(x.shape.slice(0, axes.length));
    const width = sizeOf(x.shape.slice(axes.length));
    const keptShape = x.shape.slice(axes.length);
    const outShape = keepDims ? [...axes.map(() => 1), ...keptShape] : keptShape;
    const out = heap.makeOutput(outShape, 'float32');
    const src = heap.typedArrayFromHeap(x) as Float32Array;
    // Accumulate in float64 so that large reductions do not lose precision.
    const acc = new Float64Array(width);
    for (let r = 0; r < rows; r++) {
      const off = r * width;
      for (let j = 0; j < width; j++) acc[j]! += src[off + j]!;
    }
    const dst = heap.typedArrayFromHeap(out) as Float32Array;
    const scale = mean ? 1 / rows : 1;
    for (let j = 0; j < width; j++) dst[j] = acc[j]! * scale;
    return out;
  };
}

export function registerLeadingReductions(backendName: string): void {
  for (const [name, mean] of [
    [tf.Sum, false],
    [tf.Mean, true],
  ] as const) {
    const stock = tf.getKernel(name, backendName);
    if (!stock) continue;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ kernelName: name, backendName, kernelFunc: leadingReduction(stock.kernelFunc, mean) });
  }
}
