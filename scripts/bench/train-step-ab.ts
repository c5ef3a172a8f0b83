/**
 * `npx tsx scripts/bench/train-step-ab.ts`: one cnn training step on a 64-image shard (what each
 * of two replicas computes), tf.layers' batch norm with tf.train.adam against Loupe's fused batch
 * norm with the array Adam, interleaved in one process (6 rounds of 3 steps each) so that a busy
 * machine's load falls on both alike. Prints one JSON object: per-round times, medians, speed-up.
 * Wasm only (the fused batch norm exists there).
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { initBackend } from '@/lib/ml/backend';
import { fusedBatchNorm } from '@/lib/ml/kernels/batch-norm-train';
import { createModel } from '@/lib/ml/model';
import { ArrayAdam } from '@/lib/ml/train-optimizer';

const SHARD = 64;
const ROUNDS = 6;
const STEPS_PER_ROUND = 3;

await initBackend();
const model = createModel('cnn', { numClasses: 10, seed: 1 });
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const xs = tf.randomUniform([SHARD, 28, 28, 1], 0, 1, 'float32', 1);
const ys = tf.oneHot(tf.randomUniform([SHARD], 0, 10, 'int32', 2) as tf.Tensor1D, 10);
const stockAdam = tf.train.adam(1e-4);
const arrayAdam = new ArrayAdam(vars, 1e-4);
const loss = () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar;
const steps = {
  before: () => {
    fusedBatchNorm.enabled = false;
    const value = stockAdam.minimize(loss, true, vars)!;
    value.dataSync();
    value.dispose();
  },
  after: () => {
    fusedBatchNorm.enabled = true;
    const { value, grads } = tf.variableGrads(loss, vars);
    value.dataSync();
    arrayAdam.applyNamed(grads);
    tf.dispose([value, ...Object.values(grads)]);
  },
};
const times = { before: [] as number[], after: [] as number[] };
steps.before();
steps.after();
for (let round = 0; round < ROUNDS; round++)
  for (const name of ['before', 'after'] as const) {
    const started = performance.now();
    for (let i = 0; i < STEPS_PER_ROUND; i++) steps[name]();
    times[name].push((performance.now() - started) / STEPS_PER_ROUND);
  }
fusedBatchNorm.enabled = true;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(
  JSON.stringify({
    loadAverage: os.loadavg()[0],
    beforeMs: times.before.map(Math.round),
    afterMs: times.after.map(Math.round),
    medianBeforeMs: Math.round(median(times.before)),
    medianAfterMs: Math.round(median(times.after)),
    speedup: Number((median(times.before) / median(times.after)).toFixed(2)),
  }),
);
