import * as tf from '@tensorflow/tfjs';
import { simdArrays, simdKernels, type SimdArrays } from '@/lib/ml/kernels/simd';

/** Byte offsets of each variable's float32s in the SIMD memory's five regions. */
interface SimdLayout {
  arrays: SimdArrays;
  /** Each variable's offset within a region, in floats (sizes rounded up to 4). */
  offsets: number[];
  /** Bytes per region. */
  region: number;
}

const REGIONS = { w: 0, m: 1, v: 2, g: 3, part: 4 } as const;

/** One set of gradients (in the order of the variables) and its weight in the mean. */
type Shard = { grads: Float32Array[]; weight: number };

/**
 * Adam (Kingma & Ba, 2015) as tf.train.adam computes it (beta1 0.9, beta2 0.999, epsilon 1e-7,
 * bias correction by beta^t), on plain arrays: one pass per variable and one upload of its new
 * value, where tf.train.adam runs about fifteen kernels per variable per step (~250 for the
 * cnn) and allocates a tensor for each.
 *
 * Gradients come in as arrays in the order of `variables`; several sets with weights (the
 * shards of data-parallel training) are averaged first. The moments live in a WebAssembly
 * memory of the optimizer's own, where the averaging and the update are SIMD functions of
 * lib/ml/kernels/simd (~1 ms a step for the cnn's 428k weights, ~7 ms as JavaScript loops,
 * time in which a data-parallel replica waits); with `simdKernels.enabled` off at
 * construction they are JavaScript arrays and loops.
 */
export class ArrayAdam {
  learningRate: number;
  private readonly m: Float32Array[] = [];
  private readonly v: Float32Array[] = [];
  private readonly simd: SimdLayout | null;
  private step = 0;

  constructor(
    private readonly variables: tf.Variable[],
    learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.learningRate = learningRate;
    if (simdKernels.enabled) {
      const offsets: number[] = [];
      let floats = 0;
      for (const v of variables) {
        offsets.push(floats);
        floats += Math.ceil(v.size / 4) * 4;
      }
      const region = floats * 4;
      this.simd = { arrays: simdArrays(region * Object.keys(REGIONS).length), offsets, region };
    } else {
      this.simd = null;
      this.m = variables.map((v) => new Float32Array(v.size));
      this.v = variables.map((v) => new Float32Array(v.size));
    }
  }

  /**
   * One update with the weighted mean of `shards`' gradients (weights sum to 1 for a mean).
   * Returns the variables' new values, in order (the caller may send them on; they are its
   * own copies).
   */
  apply(shards: Shard[]): Float32Array[] {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    // lr * (m / c1) / (sqrt(v / c2) + epsilon), with the constants taken out of the loop.
    const step = this.learningRate / c1;
    const root = 1 / Math.sqrt(c2);
    return this.variables.map((variable, i) => {
      const w = this.simd
        ? this.updateSimd(this.simd, i, variable, shards, step, root)
        : this.updateLoops(i, variable, shards, step, root);
      tf.tidy(() => variable.assign(tf.tensor(w, variable.shape)));
      return w;
    });
  }

  /** One update from tensors keyed by variable name (what tf.variableGrads returns). */
  applyNamed(grads: tf.NamedTensorMap): Float32Array[] {
    return this.apply([{ grads: this.variables.map((v) => grads[v.name]!.dataSync() as Float32Array), weight: 1 }]);
  }

  private updateSimd(
    layout: SimdLayout,
    i: number,
    variable: tf.Variable,
    shards: Shard[],
    step: number,
    root: number,
  ) {
    const { arrays, offsets, region } = layout;
    const n = variable.size;
    const padded = Math.ceil(n / 4) * 4;
    const at = (r: number) => r * region + offsets[i]! * 4;
    const view = (r: number) => new Float32Array(arrays.memory.buffer, at(r), n);
    view(REGIONS.w).set(variable.dataSync() as Float32Array);
    shards.forEach((shard, p) => {
      view(REGIONS.part).set(shard.grads[i]!);
      arrays.weightedAdd(at(REGIONS.g), at(REGIONS.part), padded, shard.weight, p === 0 ? 1 : 0);
    });
    const { beta1, beta2, epsilon } = this;
    arrays.adam(at(REGIONS.w), at(REGIONS.m), at(REGIONS.v), at(REGIONS.g), padded, beta1, beta2, step, root, epsilon);
    return view(REGIONS.w).slice();
  }

  private updateLoops(i: number, variable: tf.Variable, shards: Shard[], step: number, root: number) {
    const { beta1, beta2, epsilon } = this;
    const w = (variable.dataSync() as Float32Array).slice();
    const m = this.m[i]!;
    const v = this.v[i]!;
    const g = weightedSum(
      shards.map((s) => s.grads[i]!),
      shards.map((s) => s.weight),
    );
    for (let j = 0; j < w.length; j++) {
      const gj = g[j]!;
      const mj = beta1 * m[j]! + (1 - beta1) * gj;
      const vj = beta2 * v[j]! + (1 - beta2) * gj * gj;
      m[j] = mj;
      v[j] = vj;
      w[j] = w[j]! - (step * mj) / (Math.sqrt(vj) * root + epsilon);
    }
    return w;
  }
}

/** The weighted sum of equally long arrays (one shard's gradient is returned as it is at weight 1). */
function weightedSum(parts: Float32Array[], weights: number[]): Float32Array {
  if (parts.length === 1 && weights[0] === 1) return parts[0]!;
  const out = new Float32Array(parts[0]!.length);
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const weight = weights[p]!;
    for (let j = 0; j < out.length; j++) out[j]! += part[j]! * weight;
  }
  return out;
}
