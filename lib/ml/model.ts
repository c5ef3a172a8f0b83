import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE } from '@/lib/ml/classes';

export const ARCHITECTURES = ['mlp', 'lenet5', 'cnn'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface CreateModelOptions {
  numClasses: number;
  /** Seeds every initialiser and dropout layer so a training run can be repeated. */
  seed?: number;
}

/**
 * A fresh, uncompiled model for `arch`. Every model maps [n,28,28,1] pixels in [0,1] to raw
 * logits (no softmax): the loss applies softmax itself, and calibration divides the logits
 * by a temperature before it.
 */
export function createModel(arch: Architecture, options: CreateModelOptions): tf.Sequential {
  const builders: Record<Architecture, (o: Required<CreateModelOptions>) => tf.Sequential> = { mlp, lenet5, cnn };
  return builders[arch]({ seed: 42, ...options });
}

/**
 * The model's dropout layers, to skip them while fitting (set `rate` to 0, then back): `rate`
 * is private in tfjs-layers but read on every call.
 */
export function dropoutLayers(model: tf.LayersModel): { rate: number }[] {
  return model.layers.filter((layer) => layer.getClassName() === 'Dropout') as unknown as { rate: number }[];
}

function seededInit(seed: number, offset: number) {
  return tf.initializers.heNormal({ seed: seed + offset });
}

/** The notebook baseline: two hidden dense layers. */
function mlp({ numClasses, seed }: Required<CreateModelOptions>): tf.Sequential {
  return tf.sequential({
    name: 'mlp',
    layers: [
      tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] }),
      tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: seededInit(seed, 1) }),
      tf.layers.dropout({ rate: 0.2, seed: seed + 2 }),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: seededInit(seed, 3) }),
      tf.layers.dense({ units: numClasses, kernelInitializer: seededInit(seed, 4) }),
    ],
  });
}

/** LeNet-5 (LeCun et al., 1998): conv6-pool-conv16-pool-fc120-fc84, tanh replaced by ReLU. */
function lenet5({ numClasses, seed }: Required<CreateModelOptions>): tf.Sequential {
  return tf.sequential({
    name: 'lenet5',
    layers: [
      tf.layers.conv2d({
        inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1],
        filters: 6,
        kernelSize: 5,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: seededInit(seed, 1),
      }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.conv2d({
        filters: 16,
        kernelSize: 5,
        padding: 'valid',
        activation: 'relu',
        kernelInitializer: seededInit(seed, 2),
      }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu', kernelInitializer: seededInit(seed, 3) }),
      tf.layers.dense({ units: 84, activation: 'relu', kernelInitializer: seededInit(seed, 4) }),
      tf.layers.dense({ units: numClasses, kernelInitializer: seededInit(seed, 5) }),
    ],
  });
}

/**
 * The production model: three conv blocks with batch norm, max pooling and dropout, then one
 * hidden dense layer. Convolutions have no bias (the batch norm after them has one).
 */
function cnn({ numClasses, seed }: Required<CreateModelOptions>): tf.Sequential {
  const conv = (filters: number, offset: number, first = false) => [
    tf.layers.conv2d({
      ...(first ? { inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] } : {}),
      filters,
      kernelSize: 3,
      padding: 'same',
      useBias: false,
      kernelInitializer: seededInit(seed, offset),
    }),
    tf.layers.batchNormalization(),
    tf.layers.reLU(),
  ];
  return tf.sequential({
    name: 'cnn',
    layers: [
      ...conv(32, 1, true),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      ...conv(64, 2),
      ...conv(64, 3),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.dropout({ rate: 0.25, seed: seed + 4 }),
      ...conv(128, 5),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.dropout({ rate: 0.25, seed: seed + 6 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 256, useBias: false, kernelInitializer: seededInit(seed, 7) }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.dropout({ rate: 0.4, seed: seed + 8 }),
      tf.layers.dense({ units: numClasses, kernelInitializer: seededInit(seed, 9) }),
    ],
  });
}
