import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { LabelledImages } from '@/lib/ml/train';

/** One set of images after another, in order. */
export function concatImages(sets: LabelledImages[]): LabelledImages {
  const count = sets.reduce((n, set) => n + set.count, 0);
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const set of sets) {
    pixels.set(set.pixels.subarray(0, set.count * PIXELS_PER_IMAGE), offset * PIXELS_PER_IMAGE);
    labels.set(set.labels.subarray(0, set.count), offset);
    offset += set.count;
  }
  return { pixels, labels, count };
}

/** The images at `indices`, copied, in that order. */
export function pickImages(set: LabelledImages, indices: ArrayLike<number>): LabelledImages {
  const pixels = new Uint8Array(indices.length * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]! * PIXELS_PER_IMAGE;
    pixels.set(set.pixels.subarray(src, src + PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    labels[i] = set.labels[indices[i]!]!;
  }
  return { pixels, labels, count: indices.length };
}
