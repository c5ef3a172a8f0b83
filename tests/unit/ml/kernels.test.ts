import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { BATCH_NORM_TRAIN } from '@/lib/ml/kernels/batch-norm-train';
import { createModel } from '@/lib/ml/model';

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
    for (const [ci, h, w, k] of [
      [1, 28, 28, 3],
      [3, 9, 7, 3],
      [4, 8, 8, 5],
      [2, 11, 10, 2],
    ] as const)
      cases.push({ n: 3, h, w, ci, co: 5, k, stride, pad });
// The SIMD filter gradient's cases (3x3, stride 1, 'same', ci 1 or a multiple of 4, co % 8 == 0), and their
// neighbours that take the convolution path.
for (const pad of ['same', 'valid'] as const)
  for (const stride of [1, 2]) {
    cases.push({ n: 3, h: 9, w: 7, ci: 4, co: 8, k: 3, stride, pad });
    cases.push({ n: 2, h: 6, w: 6, ci: 8, co: 16, k: 3, stride, pad });
    cases.push({ n: 3, h: 10, w: 9, ci: 1, co: 8, k: 3, stride, pad });
  }

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
      // Activation-gradient scale as in training (|dy| ~ 0.1), so that a 28x28 sum of float32
      // products stays within the absolute bound; the backends differ only in summation order.
      const dy = tf.mul(seeded(y.shape, 3)(), 0.1);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
      )([x, f]);
      return [y, dx!, df!];
    };
    const ref = await on('cpu', compute);
    const got = await on('wasm', compute);
    for (let i = 0; i < ref.length; i++) expect(maxAbsDiff(ref[i]!, got[i]!)).toBeLessThan(1e-4);
  });

  it.each([
    { shape: [1, 1, 1, 5], reps: [4, 3, 2, 1] },
    { shape: [2, 3, 4], reps: [2, 1, 3] },
    { shape: [3, 1], reps: [1, 4] },
    { shape: [5], reps: [3] },
  ])('Tile %o', async ({ shape, reps }) => {
    const compute = () => [tf.tile(seeded(shape, 4)(), reps)];
    const [ref, got] = [await on('cpu', compute), await on('wasm', compute)];
    expect(maxAbsDiff(ref[0]!, got[0]!)).toBe(0);
  });

  it.each([
    { shape: [6, 5, 4, 3], axis: [0, 1, 2], keepDims: false },
    { shape: [6, 5, 4, 3], axis: [0, 1, 2], keepDims: true },
    { shape: [7, 9], axis: [0], keepDims: false },
    { shape: [7, 9], axis: [1], keepDims: false },
    { shape: [4, 5, 6], axis: [1], keepDims: true },
  ])('Sum and Mean %o', async ({ shape, axis, keepDims }) => {
    const compute = () => {
      const x = seeded(shape, 5)();
      return [tf.sum(x, axis, keepDims), tf.mean(x, axis, keepDims)];
    };
    const [ref, got] = [await on('cpu', compute), await on('wasm', compute)];
    for (let i = 0; i < ref.length; i++) expect(maxAbsDiff(ref[i]!, got[i]!)).toBeLessThan(1e-5);
  });

  it('Sum over 10^5 leading terms stays within a small relative bound', async () => {
    const compute = () => [tf.sum(seeded([100000, 3], 6)(), 0)];
    const [ref, got] = [await on('cpu', compute), await on('wasm', compute)];
    for (let i = 0; i < 3; i++)
      expect(Math.abs(ref[0]![i]! - got[0]![i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref[0]![i]!)) + 2e-3);
  });

  it.each([
    { shape: [2, 6, 6, 3], size: 2, stride: 2, pad: 'valid' as const },
    { shape: [2, 7, 5, 2], size: 3, stride: 2, pad: 'same' as const },
    { shape: [1, 5, 5, 2], size: 2, stride: 1, pad: 'valid' as const },
    // The SIMD kernel's cases: 2x2, stride 2, no padding, channels divisible by 4; odd sizes
    // leave a last row and column that no window covers.
    { shape: [3, 6, 8, 4], size: 2, stride: 2, pad: 'valid' as const },
    { shape: [2, 7, 7, 8], size: 2, stride: 2, pad: 'valid' as const },
  ])('MaxPoolGrad %o, including ties', async ({ shape, size, stride, pad }) => {
    const compute = () => {
      // relu of rounded noise: many tied zeros and ties between equal positives.
      const x = tf.relu(tf.round(seeded(shape, 7)()));
      const [dx] = tf.grads((a: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.maxPool(a as tf.Tensor4D, size, stride, pad),
            seeded(tf.maxPool(x as tf.Tensor4D, size, stride, pad).shape, 8)(),
          ),
        ),
      )([x]);
      return [dx!];
    };
    const [ref, got] = [await on('cpu', compute), await on('wasm', compute)];
    expect(maxAbsDiff(ref[0]!, got[0]!)).toBeLessThan(1e-5);
  });

  it.each([
    [false, true],
    [true, false],
    [true, true],
    [false, false],
  ])('BatchMatMul transposeA=%s transposeB=%s', async (ta, tb) => {
    const compute = () => {
      const a = seeded(ta ? [2, 7, 5] : [2, 5, 7], 9)() as tf.Tensor3D;
      const b = seeded(tb ? [2, 4, 7] : [2, 7, 4], 10)() as tf.Tensor3D;
      return [tf.matMul(a, b, ta, tb)];
    };
    const [ref, got] = [await on('cpu', compute), await on('wasm', compute)];
    expect(maxAbsDiff(ref[0]!, got[0]!)).toBeLessThan(1e-4);
  });

  it('a whole cnn training step: loss and every weight gradient agree with cpu', async () => {
    const compute = () => {
      const model = createModel('cnn', { numClasses: 10, seed: 5 });
      const x = tf.randomUniform([6, 28, 28, 1], 0, 1, 'float32', 11);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'), 10);
      // Dropout is random per backend; compare the deterministic part (training-mode batch norm).
      const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
      const { value, grads } = tf.variableGrads(() => {
        let h: tf.Tensor = x;
        for (const layer of model.layers)
          h = layer.getClassName() === 'Dropout' ? h : (layer.apply(h, { training: true }) as tf.Tensor);
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      });
      const missing = names.filter((n) => !grads[n]);
      if (missing.length > 0) throw new Error(`no gradient for ${missing.join(', ')}`);
      return [value, ...names.map((n) => grads[n]!)];
    };
    const ref = await on('cpu', compute);
    const got = await on('wasm', compute);
    expect(ref.length).toBeGreaterThan(8);
    for (let i = 0; i < ref.length; i++) {
      let scale = 0;
      for (const v of ref[i]!) scale = Math.max(scale, Math.abs(v));
      expect(maxAbsDiff(ref[i]!, got[i]!)).toBeLessThan(1e-4 * Math.max(1, scale));
    }
  });

  it.each([
    [4, 7, 6, 5],
    [16, 0, 0, 3],
    // Channels divisible by 4: the SIMD kernels.
    [4, 7, 6, 8],
    [16, 0, 0, 12],
  ])(
    'fused batch norm in training (n=%i, %ix%i, %i channels): output, every gradient, moving statistics',
    async (n, h, w, c) => {
      const shape = h ? [n, h, w, c] : [n, c];
      const compute = () => {
        const layer = tf.layers.batchNormalization({ momentum: 0.9 });
        // Non-zero mean and non-unit spread, so that every term of the gradient matters.
        const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 2), 0.5);
        layer.build(x.shape);
        const dy = tf.randomNormal(shape, 0, 0.1, 'float32', 4);
        const gamma = layer.getWeights()[0]!;
        layer.setWeights([tf.add(gamma, tf.randomUniform([c], 0, 1, 'float32', 5)), ...layer.getWeights().slice(1)]);
        const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const f = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input, { training: true }) as tf.Tensor, dy));
        const dx = tf.grad(f)(x);
        const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
        const y = layer.apply(x, { training: true }) as tf.Tensor;
        // Three training calls moved the moving statistics three times; inference uses them.
        const inference = layer.apply(x, { training: false }) as tf.Tensor;
        const moving = layer
          .getWeights()
          .slice(2)
          .map((t) => t.clone());
        const out = [y, dx, ...vars.map((v) => grads[v.name]!), ...moving, inference];
        for (const weight of layer.weights) weight.dispose();
        return out;
      };
      const ref = await on('cpu', compute);
      const before = tf.memory().numTensors;
      const got = await on('wasm', compute);
      expect(tf.memory().numTensors).toBe(before);
      expect(ref).toHaveLength(7);
      for (let i = 0; i < ref.length; i++) {
        let scale = 0;
        for (const v of ref[i]!) scale = Math.max(scale, Math.abs(v));
        expect(maxAbsDiff(ref[i]!, got[i]!), `output ${i}`).toBeLessThan(2e-5 * Math.max(1, scale));
      }
    },
  );

  it('batch norm trains through the fused kernel on wasm, and only while training', async () => {
    await tf.setBackend('wasm');
    const layer = tf.layers.batchNormalization();
    const x = tf.randomNormal([2, 3, 3, 4]);
    const kernelsOf = async (training: boolean) =>
      (await tf.profile(() => layer.apply(x, { training }) as tf.Tensor)).kernels.map((k) => k.name);
    expect(await kernelsOf(true)).toContain(BATCH_NORM_TRAIN);
    expect(await kernelsOf(false)).not.toContain(BATCH_NORM_TRAIN);
    tf.dispose(x);
  });

  it('a training step computes no gradient for the images, and the same convolutions otherwise', async () => {
    await tf.setBackend('wasm');
    const model = createModel('cnn', { numClasses: 10, seed: 5 });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 11);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 10);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        vars,
      );
      tf.dispose(Object.values(grads));
      return value;
    });
    const inputGradients = profile.kernels.filter((k) => k.name === 'Conv2DBackpropInput');
    // Three of the four convolutions pass a gradient down; the first would only reach the images.
    expect(inputGradients).toHaveLength(3);
    expect(inputGradients.map((k) => k.outputShapes[0]![3])).not.toContain(1);
    // Inference keeps tf.layers' own (fused) convolution.
    const inference = await tf.profile(() => model.predict(x) as tf.Tensor);
    expect(inference.kernels.filter((k) => k.name === 'FusedConv2D')).toHaveLength(4);
    tf.dispose([x, y]);
    model.dispose();
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
