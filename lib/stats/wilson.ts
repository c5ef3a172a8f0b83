/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

export interface WilsonInterval {
  /** Successes / trials. */
  estimate: number;
  low: number;
  high: number;
  successes: number;
  trials: number;
}

/**
 * The Wilson score interval for a binomial proportion: unlike the normal approximation it
 * stays inside [0, 1] and behaves at 0 or n successes, which is where an accuracy near 100%
 * measured on a small audit sample lives. Null for zero trials.
 */
export function wilsonInterval(successes: number, trials: number, z: number = Z_95): WilsonInterval | null {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`wilsonInterval needs integers 0 <= successes <= trials, got ${successes} of ${trials}`);
  }
  if (trials === 0) return null;
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // Clamp rounding noise at the ends (0 of n gives a low of -1e-17 otherwise).
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half), successes, trials };
}
