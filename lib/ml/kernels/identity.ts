import * as tf from '@tensorflow/tfjs';
import type { RefCountingBackend } from './tensor-info';

/**
 * Identity that shares the input's data and bumps its reference count, as the `cpu` backend
 * does. The stock wasm kernel copies the buffer, and tf.layers clones every tensor it saves
 * for backprop, so the copies add up on every training step.
 */
export function registerIdentity(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Identity,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x!;
      (backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
