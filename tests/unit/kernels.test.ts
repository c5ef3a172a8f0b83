import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';

/** Runs `fn` on `backend` and returns plain arrays, so results can be compared across backends. */
async function on(backend: string, fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return values;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function seeded(shape: number[], seed: number): () => tf.Tensor {
  return () => tf.randomNormal(shape, 0, 1, 'float32', seed);
}

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  pad: 'same' | 'valid';
}

const cases: Case[] = [];
for (const pad of ['same', 'valid'] as const)
  for (const stride of [1, 2])
    for (const [ci, h, w, k] of [[1, 28, 28, 3], [3, 9, 7, 3], [4, 8, 8, 5], [2, 11, 10, 2]] as const)
      cases.push({ n: 3, h, w, ci, co: 5, k, stride, pad });

describe('wasm training kernels agree with cpu', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  it.each(cases)('conv2d gradients: %o', async (c) => {
    const compute = () => {
      const x = seeded([c.n, c.h, c.w, c.ci], 1)() as tf.Tensor4D;
      const f = seeded([c.k, c.k, c.ci, c.co], 2)() as tf.Tensor4D;
      const y = tf.conv2d(x, f, c.stride, c.pad);
      const dy = seeded(y.shape, 3)();
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)))([x, f]);
      return [y, dx!, df!];
    };
    const ref = await on('cpu', compute);
    const got = await on('wasm', compute);
    for (let i = 0; i < ref.length; i++) expect(maxAbsDiff(ref[i]!, got[i]!)).toBeLessThan(1e-4);
  });

  it('Identity shares data and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
