/**
 * Calibration for the int8 ONNX export (lib/ml/onnx/quantize.ts): the range of every ReLU output
 * of a model on a few hundred of its own images, in TensorFlow.js, while the model is in memory
 * (saveModel) or loaded (npm run quantize-model).
 */
import * as tf from '@tensorflow/tfjs';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { pixelsToTensor } from '@/lib/ml/model-input';

/** Images the ranges are measured on (the first of those given). */
export const CALIBRATION_IMAGES = 512;
/**
 * The range is this percentile of the activation's values, not its maximum: a few outliers
 * would otherwise stretch the scale for every other value. Measured on the shipped cnn (t10k,
 * mirror averaging): 99.99th percentile 93.80%, maximum 93.73%, float32 93.81%.
 */
export const CALIBRATION_PERCENTILE = 99.99;

export interface Int8Calibration {
  images: number;
  percentile: number;
  /** Layer name -> calibrated range of its (ReLU) output. */
  ranges: Record<string, number>;
}

/** Whether a layer's output is a ReLU (plain, without a cap): what the int8 export quantizes. */
function outputIsRelu(layer: tf.layers.Layer): boolean {
  const config = layer.getConfig() as { activation?: unknown; maxValue?: unknown };
  const className = layer.getClassName();
  if (className === 'ReLU') return config.maxValue === null || config.maxValue === undefined;
  return config.activation === 'relu';
}

/** The value at `percentile` of `values` (sorted in place). */
function percentileOf(values: Float32Array, percentile: number): number {
  values.sort();
  const index = Math.min(values.length - 1, Math.floor((values.length * percentile) / 100));
  return values[index]!;
}

/**
 * The calibrated output range of every ReLU layer of `model` on the first CALIBRATION_IMAGES of
 * `pixels` (28x28 bytes each), or null when the model has no such layer or no image was given.
 */
export async function int8CalibrationOf(
  model: tf.LayersModel,
  pixels: Uint8Array,
  count: number,
): Promise<Int8Calibration | null> {
  const n = Math.min(count, CALIBRATION_IMAGES, Math.floor(pixels.length / PIXELS_PER_IMAGE));
  const layers = model.layers.filter(outputIsRelu);
  if (n === 0 || layers.length === 0) return null;
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
  const chunks: Float32Array[][] = layers.map(() => []);
  const batch = 128;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const outputs = tf.tidy(() => {
      const result = probe.predict(pixelsToTensor(pixels, size, start), { batchSize: size });
      return Array.isArray(result) ? result : [result];
    });
    for (let l = 0; l < layers.length; l++) chunks[l]!.push((await outputs[l]!.data()) as Float32Array);
    tf.dispose(outputs);
  }
  const ranges: Record<string, number> = {};
  layers.forEach((layer, l) => {
    const parts = chunks[l]!;
    const all = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.length;
    }
    // Rounded so that meta.json (and so the exported bytes) do not carry float noise.
    ranges[layer.name] = Number(percentileOf(all, CALIBRATION_PERCENTILE).toPrecision(6));
  });
  return { images: n, percentile: CALIBRATION_PERCENTILE, ranges };
}
