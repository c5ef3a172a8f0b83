import type * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '@/lib/ml/backend';
import { softmaxRows } from '@/lib/ml/calibration';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { loadModel, type ModelMeta } from '@/lib/ml/model-store';
import { predictLogits, type PredictLogitsOptions } from '@/lib/ml/predict';
import { badInput } from '@/lib/errors';

export interface Prediction {
  /** Calibrated probabilities, one per class (softmax of logits / temperature). */
  probs: Float32Array;
  predictedClass: number;
  /** Calibrated probability of the predicted class. */
  confidence: number;
  /** Calibrated top-1 minus top-2 probability: small means torn between two classes. */
  margin: number;
}

export interface Classifier {
  meta: ModelMeta;
  backend: BackendName;
  predictLogits(pixels: Uint8Array, count: number, options?: PredictLogitsOptions): Promise<Float32Array>;
  predict(pixels: Uint8Array, count: number, options?: PredictLogitsOptions): Promise<Prediction[]>;
  dispose(): void;
}

/** Turns calibrated probability rows into per-item predictions. */
export function toPredictions(probs: Float32Array, k: number): Prediction[] {
  const out: Prediction[] = [];
  for (let row = 0; row < probs.length; row += k) {
    const p = probs.slice(row, row + k);
    let first = 0;
    for (let j = 1; j < k; j++) if (p[j]! > p[first]!) first = j;
    let second = -1;
    for (let j = 0; j < k; j++) if (j !== first && (second < 0 || p[j]! > p[second]!)) second = j;
    out.push({
      probs: p,
      predictedClass: first,
      confidence: p[first]!,
      margin: p[first]! - (second < 0 ? 0 : p[second]!),
    });
  }
  return out;
}

/**
 * Loads a saved model for serving on the process's backend. Predictions are plain numbers;
 * no tensor outlives a call.
 */
export async function loadClassifier(dir: string): Promise<Classifier> {
  const backend = await initBackend();
  const { model, meta } = await loadModel(dir);
  const k = meta.classNames.length;
  const checkInput = (pixels: Uint8Array, count: number) => {
    if (pixels.length < count * PIXELS_PER_IMAGE)
      throw badInput(`Expected ${count} images of ${PIXELS_PER_IMAGE} pixels, got ${pixels.length} bytes.`);
  };
  const logitsOf = (pixels: Uint8Array, count: number, options?: PredictLogitsOptions) => {
    checkInput(pixels, count);
    return predictLogits(model as tf.LayersModel, pixels, count, {
      testTimeAugmentation: meta.testTimeAugmentation,
      ...options,
    });
  };
  return {
    meta,
    backend,
    predictLogits: logitsOf,
    async predict(pixels, count, options) {
      const logits = await logitsOf(pixels, count, options);
      return toPredictions(softmaxRows(logits, k, meta.temperature), k);
    },
    dispose: () => model.dispose(),
  };
}
