import * as tf from '@tensorflow/tfjs';

/** The slice of a tfjs backend that kernels here rely on (both `cpu` and `wasm` have it). */
export interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * Wraps a kernel input (a bare TensorInfo) as a Tensor so that tf ops can be used inside a
 * kernel. The reference count is raised first, so disposing the wrapper (explicitly or by a
 * surrounding tidy) leaves the caller's tensor alive.
 */
export function wrapInput<R extends tf.Rank>(info: tf.TensorInfo, backend: RefCountingBackend): tf.Tensor<R> {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

export interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
}

export function assertNhwc(kernel: string, attrs: Conv2DAttrs): void {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${kernel}: only NHWC is supported, got ${attrs.dataFormat}`);
}
