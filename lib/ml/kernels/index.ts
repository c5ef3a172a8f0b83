import * as tf from '@tensorflow/tfjs';
import { registerConv2dBackpropFilter } from './conv2d-backprop-filter';
import { registerConv2dBackpropInput } from './conv2d-backprop-input';
import { patchConv2dForTraining } from './conv2d-layer';
import { registerIdentity } from './identity';
import { registerBatchMatMul } from './batch-mat-mul';
import { registerBatchNormTrain, patchBatchNormForTraining } from './batch-norm-train';
import { registerMaxPoolGrad } from './max-pool-grad';
import { registerLeadingReductions } from './reduce-leading';
import { registerTile } from './tile';

let registered = false;

function replaceKernel(kernelName: string, register: (backend: string) => void): void {
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  register('wasm');
}

/**
 * Registers Loupe's training kernels on the wasm backend: the ones it lacks
 * (Conv2DBackpropFilter) and replacements for ones it runs slowly. Each is checked against
 * the `cpu` backend in tests/unit/kernels.test.ts.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  replaceKernel(tf.Conv2DBackpropFilter, registerConv2dBackpropFilter);
  replaceKernel(tf.Conv2DBackpropInput, registerConv2dBackpropInput);
  replaceKernel(tf.Identity, registerIdentity);
  replaceKernel(tf.Tile, registerTile);
  replaceKernel(tf.MaxPoolGrad, registerMaxPoolGrad);
  // These two wrap the stock kernel and fall back to it, so they replace it themselves.
  registerLeadingReductions('wasm');
  registerBatchMatMul('wasm');
  registerBatchNormTrain('wasm');
  patchBatchNormForTraining('wasm');
  patchConv2dForTraining('wasm');
}
