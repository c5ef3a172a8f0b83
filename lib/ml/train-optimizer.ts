import * as tf from '@tensorflow/tfjs';

/**
 * Adam (Kingma & Ba, 2015) as tf.train.adam computes it (beta1 0.9, beta2 0.999, epsilon 1e-7,
 * bias correction by beta^t), on plain arrays: one loop per variable and one upload of its new
 * value, where tf.train.adam runs about fifteen kernels per variable per step (~250 for the
 * cnn) and allocates a tensor for each. The moments live on the JS side.
 *
 * Gradients come in as arrays in the order of `variables`; several sets with weights (the
 * shards of data-parallel training) are averaged in the same loop.
 */
export class ArrayAdam {
  learningRate: number;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private step = 0;

  constructor(
    private readonly variables: tf.Variable[],
    learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.learningRate = learningRate;
    this.m = variables.map((v) => new Float32Array(v.size));
    this.v = variables.map((v) => new Float32Array(v.size));
  }

  /**
   * One update with the weighted mean of `shards`' gradients (weights sum to 1 for a mean).
   * Returns the variables' new values, in order (the caller may send them on; they are its
   * own copies).
   */
  apply(shards: { grads: Float32Array[]; weight: number }[]): Float32Array[] {
    this.step++;
    const { beta1, beta2, epsilon } = this;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    const lr = this.learningRate;
    return this.variables.map((variable, i) => {
      const w = (variable.dataSync() as Float32Array).slice();
      const m = this.m[i]!;
      const v = this.v[i]!;
      const parts = shards.map((s) => s.grads[i]!);
      const weights = shards.map((s) => s.weight);
      for (let j = 0; j < w.length; j++) {
        let g = 0;
        for (let p = 0; p < parts.length; p++) g += parts[p]![j]! * weights[p]!;
        const mj = beta1 * m[j]! + (1 - beta1) * g;
        const vj = beta2 * v[j]! + (1 - beta2) * g * g;
        m[j] = mj;
        v[j] = vj;
        w[j] = w[j]! - (lr * (mj / c1)) / (Math.sqrt(vj / c2) + epsilon);
      }
      tf.tidy(() => variable.assign(tf.tensor(w, variable.shape)));
      return w;
    });
  }

  /** One update from tensors keyed by variable name (what tf.variableGrads returns). */
  applyNamed(grads: tf.NamedTensorMap): Float32Array[] {
    return this.apply([{ grads: this.variables.map((v) => grads[v.name]!.dataSync() as Float32Array), weight: 1 }]);
  }
}
