import { createRng } from '@/lib/ml/random';

/**
 * A learnable set of 28x28 images for K classes: class c lights up rows c*2..c*2+4.
 * `noise` (0-255) adds a random background, so that one step cannot learn it all.
 */
export function syntheticSet(count: number, seed: number, options: { classes?: number; noise?: number } = {}) {
  const k = options.classes ?? 10;
  const noise = options.noise ?? 0;
  const rng = createRng(seed);
  const pixels = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % k;
    labels[i] = c;
    if (noise > 0) for (let p = 0; p < 784; p++) pixels[i * 784 + p] = Math.floor(rng() * noise);
    for (let y = c * 2; y < c * 2 + 5; y++)
      for (let x = 4; x < 24; x++) pixels[i * 784 + y * 28 + x] = 150 + Math.floor(rng() * 100);
  }
  return { pixels, labels, count };
}
