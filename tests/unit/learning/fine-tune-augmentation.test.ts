import { beforeAll, describe, expect, it } from 'vitest';
import { catalogueAugmentation, modelAugmentation } from '@/lib/learning/augmentation';
import { MNIST_DIGIT_CLASSES } from '@/lib/learning/digits-data';
import { fineTune } from '@/lib/learning/fine-tune';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { createModel } from '@/lib/ml/model';
import { AUGMENT_PRESETS, type AugmentOptions } from '@/lib/ml/model-input';
import { readModelMeta } from '@/lib/ml/model-store';
import { syntheticSet } from '../ml/fixtures';

/**
 * Fine-tuning augmented every catalogue's images with the clothing preset, so a digits
 * candidate learnt from mirrored and erased digits. Now it takes the model's own.
 */
describe('which augmentation a model is fitted with again', () => {
  it('digits are never mirrored or erased; other catalogues get the clothing preset', () => {
    expect(catalogueAugmentation(MNIST_DIGIT_CLASSES)).toEqual(AUGMENT_PRESETS.digits);
    expect(catalogueAugmentation(MNIST_DIGIT_CLASSES)).toMatchObject({ flipProbability: 0, eraseProbability: 0 });
    expect(catalogueAugmentation(FASHION_MNIST_CLASSES)).toEqual(AUGMENT_PRESETS.clothing);
  });

  it("a model's recorded augmentation wins over its catalogue's", () => {
    const own: AugmentOptions = { maxShift: 1, flipProbability: 0, eraseProbability: 0.1 };
    expect(modelAugmentation({ augmentation: own, classNames: [...FASHION_MNIST_CLASSES] })).toEqual(own);
    expect(modelAugmentation({ classNames: [...MNIST_DIGIT_CLASSES] })).toEqual(AUGMENT_PRESETS.digits);
  });

  it('the shipped models record theirs', () => {
    expect(readModelMeta('models/mnist-digits').augmentation).toMatchObject({ flipProbability: 0 });
    expect(modelAugmentation(readModelMeta('models/production'))).toEqual(AUGMENT_PRESETS.clothing);
  });
});

describe('fineTune', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  const data = syntheticSet(192, 5, { noise: 80 });
  const settings = {
    epochs: 1,
    learningRate: 1e-3,
    batchSize: 64,
    seed: 1,
    layers: 'all' as const,
    inferenceModeLayers: false,
  };
  async function tunedWeights(augment: AugmentOptions): Promise<Float32Array> {
    const model = createModel('mlp', { numClasses: 10, seed: 3 });
    await fineTune({
      model,
      fit: data,
      validation: data,
      numClasses: 10,
      testTimeAugmentation: 'none',
      augment,
      parentTemperature: 1,
      settings,
    });
    const weights = model.getWeights()[0]!.dataSync() as Float32Array;
    model.dispose();
    return weights;
  }

  it('augments with what it is given, not one preset for every catalogue', async () => {
    const mirrored: AugmentOptions = { maxShift: 0, flipProbability: 1, eraseProbability: 0 };
    const plain: AugmentOptions = { maxShift: 0, flipProbability: 0, eraseProbability: 0 };
    const a = await tunedWeights(plain);
    expect(await tunedWeights(plain)).toEqual(a);
    expect(await tunedWeights(mirrored)).not.toEqual(a);
  });
});
