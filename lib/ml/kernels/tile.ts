import * as tf from '@tensorflow/tfjs';
import { asHeapBackend, sizeOf } from './wasm-heap';

/**
 * Tile by block copies. tf.layers' batch-norm gradient tiles a per-channel vector to the
 * whole activation shape; the stock wasm kernel does that element by element.
 *
 * Works from the innermost axis out: after step d the buffer holds the input tiled along
 * every axis > d, so tiling axis d repeats contiguous blocks of (in_d x tiled tail).
 */
export function tileInto(
  src: ArrayLike<number> & { subarray(a: number, b: number): Float32Array | Int32Array | Uint8Array },
  shape: readonly number[],
  reps: readonly number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const rank = shape.length;
  let current: Float32Array | Int32Array | Uint8Array = src as Float32Array;
  let tail = 1; // product of already-tiled axes after d
  for (let d = rank - 1; d >= 0; d--) {
    const rep = reps[d]!;
    const dim = shape[d]!;
    const block = dim * tail;
    const prefix = sizeOf(shape.slice(0, d));
    const last = d === 0 || reps.slice(0, d).every((r) => r === 1);
    if (rep === 1 && !last) {
      tail *= dim;
      continue;
    }
    const target: Float32Array | Int32Array | Uint8Array = last
      ? out
      : new (current.constructor as Float32ArrayConstructor)(prefix * block * rep);
    for (let p = 0; p < prefix; p++) {
      const from = current.subarray(p * block, (p + 1) * block);
      const base = p * block * rep;
      for (let r = 0; r < rep; r++) target.set(from, base + r * block);
    }
    if (last) return;
    current = target;
    tail *= dim * rep;
  }
  out.set(current);
}

export function registerTile(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Tile,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x!;
      const reps = (attrs as unknown as { reps: number[] }).reps;
      const heap = asHeapBackend(backend);
      const outShape = x.shape.map((d, i) => d * reps[i]!);
      const out = heap.makeOutput(outShape, x.dtype);
      if (sizeOf(outShape) > 0) tileInto(heap.typedArrayFromHeap(x), x.shape, reps, heap.typedArrayFromHeap(out));
      return out;
    },
  });
}
