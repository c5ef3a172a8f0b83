import * as tf from '@tensorflow/tfjs';

/**
 * Arithmetic of one image through a model's convolutions and dense layers, in floating-point
 * operations (a multiply-add counts 2). Batch norm, activations, pooling and the optimizer
 * are left out: they are memory-bound and small next to the convolutions, so the figure is a
 * floor on the work, and throughput x flops a floor on the rate a backend sustained.
 */
export interface ModelFlops {
  /** One forward pass of one image. */
  forward: number;
  /**
   * One training image: the forward pass, the weight gradients (as much again) and the input
   * gradients (as much again, except for the first weighted layer, whose input needs none).
   */
  training: number;
}

/** Multiply-adds x 2 of one layer for one image, from its kernel shape and output shape. */
function layerFlops(layer: tf.layers.Layer): number {
  const kind = layer.getClassName();
  const kernel = layer.weights[0];
  if ((kind !== 'Conv2D' && kind !== 'Dense') || !kernel) return 0;
  if (kind === 'Dense') {
    const [inputs, units] = kernel.shape as [number, number];
    return 2 * inputs * units;
  }
  const [kh, kw, ci, co] = kernel.shape as [number, number, number, number];
  const [, oh, ow] = layer.outputShape as [null, number, number, number];
  return 2 * oh * ow * co * kh * kw * ci;
}

export function modelFlops(model: tf.LayersModel): ModelFlops {
  const perLayer = model.layers.map(layerFlops).filter((f) => f > 0);
  const forward = perLayer.reduce((a, b) => a + b, 0);
  const firstInputGradient = perLayer[0] ?? 0;
  return { forward, training: 3 * forward - firstInputGradient };
}

export interface MatMulPeak {
  /** Best of `repeats` timed products, in GFLOP/s. */
  gflops: number;
  /** The square matrices' side. */
  size: number;
  repeats: number;
}

/**
 * What this process's backend sustains on its best-tuned kernel: a square float32 matMul
 * (XNNPACK's GEMM on wasm), best of `repeats` after two warm-ups. A training step of
 * convolutions cannot run faster than this on the same threads.
 */
export function measureMatMulPeak(options: { size: number; repeats: number }): MatMulPeak {
  const { size, repeats } = options;
  const a = tf.randomUniform([size, size], -1, 1, 'float32', 1);
  const b = tf.randomUniform([size, size], -1, 1, 'float32', 2);
  try {
    let bestMs = Infinity;
    for (let i = 0; i < repeats + 2; i++) {
      const started = performance.now();
      const product = tf.matMul(a, b);
      product.dataSync();
      const ms = performance.now() - started;
      product.dispose();
      if (i >= 2) bestMs = Math.min(bestMs, ms);
    }
    return { gflops: (2 * size ** 3) / (bestMs * 1e6), size, repeats };
  } finally {
    tf.dispose([a, b]);
  }
}
