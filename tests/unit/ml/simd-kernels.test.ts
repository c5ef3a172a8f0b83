import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { simdKernels, simdKernelsFor } from '@/lib/ml/kernels/simd';
import { WASM_KERNELS_BYTES, wasmKernelsSource } from '../../../scripts/lib/wat';

/** One cnn-shaped training step's outputs: batch norm, ReLU and 2x2 pooling, and their gradients. */
function step(): tf.Tensor[] {
  const layer = tf.layers.batchNormalization();
  const x = tf.add(tf.mul(tf.randomNormal([8, 10, 10, 16], 0, 1, 'float32', 1), 1.5), 0.3);
  layer.build(x.shape);
  const dy = tf.randomNormal([8, 5, 5, 16], 0, 0.1, 'float32', 2);
  const f = (input: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.maxPool(tf.relu(layer.apply(input, { training: true }) as tf.Tensor) as tf.Tensor4D, 2, 2, 'valid'),
        dy,
      ),
    );
  const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, vars);
  const dx = tf.grad(f)(x);
  const out = [value, dx, ...vars.map((v) => grads[v.name]!)];
  for (const weight of layer.weights) weight.dispose();
  return out;
}

async function run(simd: boolean): Promise<Float32Array[]> {
  simdKernels.enabled = simd;
  try {
    const outs = tf.tidy(step);
    const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outs);
    return values;
  } finally {
    simdKernels.enabled = true;
  }
}

describe('SIMD training kernels', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
    await tf.setBackend('wasm');
  });

  it('the committed bytes are kernels.wat compiled (run `npx tsx scripts/build-wasm-kernels.ts`)', async () => {
    expect(fs.readFileSync(WASM_KERNELS_BYTES, 'utf8')).toBe(await wasmKernelsSource());
  });

  it('load on the single-threaded wasm backend', () => {
    expect(simdKernelsFor(tf.backend())).not.toBeNull();
  });

  it('give what the JavaScript loops give, and leak no tensors', async () => {
    const before = tf.memory().numTensors;
    const loops = await run(false);
    const simd = await run(true);
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < loops.length; i++) {
      let scale = 0;
      let diff = 0;
      for (let j = 0; j < loops[i]!.length; j++) {
        scale = Math.max(scale, Math.abs(loops[i]![j]!));
        diff = Math.max(diff, Math.abs(loops[i]![j]! - simd[i]![j]!));
      }
      expect(diff, `output ${i}`).toBeLessThan(1e-5 * Math.max(1, scale));
    }
  });

  it('stay correct when the heap grows between steps', async () => {
    const first = await run(true);
    // Outgrow the heap, then free it: views taken before a growth are detached.
    const big = tf.zeros([64 * 1024 * 1024]);
    big.dispose();
    const second = await run(true);
    for (let i = 0; i < first.length; i++) expect(Array.from(second[i]!)).toEqual(Array.from(first[i]!));
  });
});
