/**
 * `npx tsx scripts/bench/train-step-ab.ts [--shard 64]`: one cnn training step on a 64-image
 * shard (what each of two replicas computes) three ways, interleaved in one process (6 rounds of
 * 3 steps each) so that a busy machine's load falls on all alike:
 * - before: tf.layers' batch norm with tf.train.adam;
 * - loops: Loupe's fused batch norm and the array Adam, the kernels' JavaScript loops;
 * - after: the same with the SIMD kernels (lib/ml/kernels/simd), as training runs.
 * Prints one JSON object: per-round times, medians, speed-ups. Wasm only.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '@/lib/ml/backend';
import { fusedBatchNorm } from '@/lib/ml/kernels/batch-norm-train';
import { simdKernels } from '@/lib/ml/kernels/simd';
import { createModel } from '@/lib/ml/model';
import { ArrayAdam } from '@/lib/ml/train-optimizer';

const { values } = parseArgs({ options: { shard: { type: 'string', default: '64' } } });
const SHARD = Number(values.shard);
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
  loops: () => {
    fusedBatchNorm.enabled = true;
    simdKernels.enabled = false;
    try {
      arrayStep();
    } finally {
      simdKernels.enabled = true;
    }
  },
  after: () => {
    fusedBatchNorm.enabled = true;
    arrayStep();
  },
};
function arrayStep(): void {
  const { value, grads } = tf.variableGrads(loss, vars);
  value.dataSync();
  arrayAdam.applyNamed(grads);
  tf.dispose([value, ...Object.values(grads)]);
}
const times = { before: [] as number[], loops: [] as number[], after: [] as number[] };
steps.before();
steps.loops();
steps.after();
for (let round = 0; round < ROUNDS; round++)
  for (const name of ['before', 'loops', 'after'] as const) {
    const started = performance.now();
    for (let i = 0; i < STEPS_PER_ROUND; i++) steps[name]();
    times[name].push((performance.now() - started) / STEPS_PER_ROUND);
  }
fusedBatchNorm.enabled = true;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(
  JSON.stringify({
    loadAverage: os.loadavg()[0],
    shard: SHARD,
    beforeMs: times.before.map(Math.round),
    loopsMs: times.loops.map(Math.round),
    afterMs: times.after.map(Math.round),
    medianBeforeMs: Math.round(median(times.before)),
    medianLoopsMs: Math.round(median(times.loops)),
    medianAfterMs: Math.round(median(times.after)),
    speedup: Number((median(times.before) / median(times.after)).toFixed(2)),
    simdOverLoops: Number((median(times.loops) / median(times.after)).toFixed(2)),
  }),
);
