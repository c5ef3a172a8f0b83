import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { simdKernels } from '@/lib/ml/kernels/simd';
import { ArrayAdam } from '@/lib/ml/train-optimizer';

/** Five steps of random gradients for a [3,4] and a [5] variable, the same for every optimizer. */
const SHAPES = [[3, 4], [5]];
function gradients(step: number, seed = 0): Float32Array[] {
  return SHAPES.map((shape, i) =>
    tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', 100 * step + 10 * i + seed).dataSync() as Float32Array),
  );
}
function freshVariables(): tf.Variable[] {
  return SHAPES.map((shape, i) => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 7 + i)));
}

describe('ArrayAdam', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  // SIMD: moments in the optimizer's own WebAssembly memory; loops: JavaScript arrays.
  it.each([
    ['SIMD', true],
    ['loops', false],
  ])('takes the same steps as tf.train.adam, learning-rate changes included (%s)', (_, simd) => {
    const ours = freshVariables();
    const theirs = freshVariables();
    simdKernels.enabled = simd;
    let adam: ArrayAdam;
    try {
      adam = new ArrayAdam(ours, 1e-2);
    } finally {
      simdKernels.enabled = true;
    }
    const reference = tf.train.adam(1e-2);
    for (let step = 0; step < 5; step++) {
      if (step === 3) {
        adam.learningRate = 5e-3;
        (reference as unknown as { learningRate: number }).learningRate = 5e-3;
      }
      const g = gradients(step);
      const returned = adam.apply([{ grads: g, weight: 1 }]);
      const named = theirs.map((v, i) => ({ name: v.name, tensor: tf.tensor(g[i]!, v.shape) }));
      reference.applyGradients(named);
      tf.dispose(named.map((x) => x.tensor));
      ours.forEach((v, i) => expect(Array.from(returned[i]!)).toEqual(Array.from(v.dataSync())));
    }
    ours.forEach((v, i) => {
      const a = v.dataSync();
      const b = theirs[i]!.dataSync();
      a.forEach((x, j) => expect(x).toBeCloseTo(b[j]!, 5));
    });
    // Five steps of ~lr each moved the weights: the comparison above is not of untouched values.
    expect(
      Math.abs(ours[1]!.dataSync()[0]! - tf.tidy(() => tf.randomNormal([5], 0, 1, 'float32', 8).dataSync()[0]!)),
    ).toBeGreaterThan(0.02);
    reference.dispose();
    tf.dispose([...ours, ...theirs]);
  });

  it('averages shards by their weights: 1/4 and 3/4 of two gradients equal their weighted mean', () => {
    const split = freshVariables();
    const whole = freshVariables();
    const a = new ArrayAdam(split, 1e-2);
    const b = new ArrayAdam(whole, 1e-2);
    for (let step = 0; step < 3; step++) {
      const g1 = gradients(step, 1);
      const g2 = gradients(step, 2);
      a.apply([
        { grads: g1, weight: 0.25 },
        { grads: g2, weight: 0.75 },
      ]);
      b.apply([{ grads: g1.map((g, i) => g.map((x, j) => 0.25 * x + 0.75 * g2[i]![j]!)), weight: 1 }]);
    }
    split.forEach((v, i) => {
      const x = v.dataSync();
      const y = whole[i]!.dataSync();
      x.forEach((value, j) => expect(value).toBeCloseTo(y[j]!, 6));
    });
    tf.dispose([...split, ...whole]);
  });
});
