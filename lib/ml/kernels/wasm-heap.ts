import type * as tf from '@tensorflow/tfjs';

/** The parts of the wasm backend that kernels writing straight into its heap use. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: tf.DataId): void;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

export function asHeapBackend(backend: unknown): WasmHeapBackend {
  return backend as WasmHeapBackend;
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}
