import * as tf from '@tensorflow/tfjs';

/** The layer class behind tf.layers.conv2d (not exported by name). */
type Conv2DLayer = tf.layers.Layer & {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { getClassName(): string };
  strides: [number, number];
  padding: 'same' | 'valid' | 'causal';
  dataFormat: 'channelsLast' | 'channelsFirst';
  dilationRate: [number, number];
};

let layerPatched = false;

/**
 * Makes tf.layers' Conv2D train through a plain `tf.conv2d` on `backendName` when it has no
 * bias and no activation (every convolution Loupe builds: batch norm follows each). The layer
 * calls `tf.fused.conv2d`, whose gradient computes the input's gradient even where nothing
 * needs it: for a first layer, the gradient with respect to the images, ~3% of a cnn step. The
 * plain op's gradient is computed only for what leads to a trained weight. Inference, and any
 * other layer, take the layer's own path; the saved model does not change.
 */
export function patchConv2dForTraining(backendName: string): void {
  if (layerPatched) return;
  layerPatched = true;
  const proto = Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })) as {
    call: (this: Conv2DLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor;
  };
  const original = proto.call;
  proto.call = function (inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (
      !kwargs['training'] ||
      this.bias != null ||
      this.activation.getClassName() !== 'linear' ||
      this.dataFormat !== 'channelsLast' ||
      this.padding === 'causal' ||
      input.rank !== 4 ||
      tf.getBackend() !== backendName
    )
      return original.call(this, inputs, kwargs);
    return tf.conv2d(
      input as tf.Tensor4D,
      this.kernel.read() as tf.Tensor4D,
      this.strides,
      this.padding,
      'NHWC',
      this.dilationRate,
    );
  };
}
