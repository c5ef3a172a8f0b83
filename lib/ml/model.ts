import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE } from '@/lib/ml/classes';

export const ARCHITECTURES = ['mlp', 'lenet5', 'cnn', 'resnet20'] as const;
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
export function createModel(arch: Architecture, options: CreateModelOptions): tf.LayersModel {
  const builders: Record<Architecture, (o: Required<CreateModelOptions>) => tf.LayersModel> = {
    mlp,
    lenet5,
    cnn,
    resnet20,
  };
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

/**
 * ResNet-20 (He et al., 2016, the CIFAR variant) for 28x28 images: a 3x3 stem of 16 filters,
 * then three stages of three basic blocks (two 3x3 conv + batch norm, the input added back
 * before the last ReLU) at 16, 32 and 64 filters; the first block of stages 2 and 3 halves the
 * image (28 -> 14 -> 7) with a stride-2 conv, and its shortcut is a stride-2 1x1 conv with batch
 * norm. Global average pooling and one dense layer give the logits. 0.27M parameters, 2.1x
 * the cnn's arithmetic per image: the small residual net known to reach ~95.5% on
 * Fashion-MNIST with long training (issue 18).
 */
function resnet20({ numClasses, seed }: Required<CreateModelOptions>): tf.LayersModel {
  let offset = 0;
  const conv = (x: tf.SymbolicTensor, filters: number, strides: number, kernelSize = 3) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: seededInit(seed, ++offset),
      })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor) => tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [IMAGE_SIZE, IMAGE_SIZE, 1] });
  let x = relu(bn(conv(input, 16, 1)));
  [16, 32, 64].forEach((filters, stage) => {
    for (let block = 0; block < 3; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      const branch = bn(conv(relu(bn(conv(x, filters, strides))), filters, 1));
      const shortcut = strides === 1 ? x : bn(conv(x, filters, strides, 1));
      x = relu(tf.layers.add().apply([branch, shortcut]) as tf.SymbolicTensor);
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ units: numClasses, kernelInitializer: seededInit(seed, ++offset) })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ name: 'resnet20', inputs: input, outputs: logits });
}
