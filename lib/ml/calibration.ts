/**
 * Temperature scaling (Guo et al., 2017): calibrated probabilities are softmax(logits / T),
 * with one scalar T fitted on held-out data by minimising negative log-likelihood. It never
 * changes the predicted class, only how sure the model says it is.
 */

/** Row-wise softmax of `logits` (rows x k, row-major) at temperature `temperature`. */
export function softmaxRows(logits: Float32Array, k: number, temperature = 1): Float32Array {
  const out = new Float32Array(logits.length);
  for (let row = 0; row < logits.length; row += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[row + j]! / temperature);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp(logits[row + j]! / temperature - max);
      out[row + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) out[row + j]! /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of `labels` under softmax(logits / T). */
export function negativeLogLikelihood(
  logits: Float32Array,
  labels: ArrayLike<number>,
  k: number,
  temperature: number,
): number {
  let total = 0;
  const n = labels.length;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[row + j]! / temperature);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[row + j]! / temperature - max);
    total += Math.log(sum) + max - logits[row + labels[i]!]! / temperature;
  }
  return total / n;
}

/**
 * The temperature minimising NLL on (logits, labels). NLL is unimodal in log T, so a
 * golden-section search over log T in [ln 0.05, ln 20] is enough and needs no gradients.
 */
export function fitTemperature(logits: Float32Array, labels: ArrayLike<number>, k: number): number {
  const phi = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = negativeLogLikelihood(logits, labels, k, Math.exp(a));
  let fb = negativeLogLikelihood(logits, labels, k, Math.exp(b));
  for (let iter = 0; iter < 60; iter++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = negativeLogLikelihood(logits, labels, k, Math.exp(a));
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = negativeLogLikelihood(logits, labels, k, Math.exp(b));
    }
  }
  return Math.exp((lo + hi) / 2);
}
