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

/**
 * The `m` largest values seen, in a min-heap: the smallest of them is the answer. With m about
 * 0.01% of the values, memory stays a few KB per layer however many images are measured (the
 * first conv layer of the cnn gives 25,088 values an image).
 */
class TopValues {
  private readonly heap: Float32Array;
  private size = 0;

  constructor(private readonly m: number) {
    this.heap = new Float32Array(m);
  }

  add(values: Float32Array): void {
    const { heap, m } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (this.size < m) {
        // Sift up.
        let c = this.size++;
        while (c > 0 && heap[(c - 1) >> 1]! > v) {
          heap[c] = heap[(c - 1) >> 1]!;
          c = (c - 1) >> 1;
        }
        heap[c] = v;
      } else if (v > heap[0]!) {
        // Replace the smallest and sift down.
        let c = 0;
        for (;;) {
          const l = 2 * c + 1;
          if (l >= m) break;
          const child = l + 1 < m && heap[l + 1]! < heap[l]! ? l + 1 : l;
          if (heap[child]! >= v) break;
          heap[c] = heap[child]!;
          c = child;
        }
        heap[c] = v;
      }
    }
  }

  /** The smallest of the kept values: the m-th largest of all. */
  smallest(): number {
    return this.heap[0]!;
  }
}

/**
 * The calibrated output range of every ReLU layer of `model` on the first CALIBRATION_IMAGES of
 * `pixels` (28x28 bytes each), or null when the model has no such layer or no image was given.
 * The range is the value at index floor(N x percentile / 100) of the layer's N values sorted
 * ascending, found without keeping them all.
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
  const tops: TopValues[] = [];
  const batch = 128;
  for (let start = 0; start < n; start += batch) {
    const size = Math.min(batch, n - start);
    const outputs = tf.tidy(() => {
      const result = probe.predict(pixelsToTensor(pixels, size, start), { batchSize: size });
      return Array.isArray(result) ? result : [result];
    });
    for (let l = 0; l < layers.length; l++) {
      const values = (await outputs[l]!.data()) as Float32Array;
      if (!tops[l]) {
        const total = (values.length / size) * n;
        const index = Math.min(total - 1, Math.floor((total * CALIBRATION_PERCENTILE) / 100));
        tops[l] = new TopValues(total - index);
      }
      tops[l]!.add(values);
    }
    tf.dispose(outputs);
  }
  const ranges: Record<string, number> = {};
  layers.forEach((layer, l) => {
    // Rounded so that meta.json (and so the exported bytes) do not carry float noise.
    ranges[layer.name] = Number(tops[l]!.smallest().toPrecision(6));
  });
  return { images: n, percentile: CALIBRATION_PERCENTILE, ranges };
}
