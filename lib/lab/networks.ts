import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE } from '@/lib/ml/classes';
import { createModel } from '@/lib/ml/model';
import type { LabArchitecture } from './architectures';

/**
 * A fresh network for a tfjs lab architecture (all but the forest). Logistic regression is one
 * dense layer from the 784 pixels to the class logits: softmax cross-entropy on it is the
 * multinomial logistic regression loss.
 */
export function createLabNetwork(arch: Exclude<LabArchitecture, 'forest'>, numClasses: number, seed: number) {
  if (arch !== 'logreg') return createModel(arch, { numClasses, seed });
  return tf.sequential({
    name: 'logreg',
    layers: [
      tf.layers.flatten({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1] }),
      tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
    ],
  });
}
