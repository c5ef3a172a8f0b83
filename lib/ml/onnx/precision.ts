/**
 * Which of a version's ONNX files ONNX Runtime scores with: the float32 export (model.onnx,
 * the same logits as TensorFlow.js) or, with LOUPE_ONNX_PRECISION=int8, the int8 one
 * (model.int8.onnx) where the version has a calibration. One rule, read by the thread that loads
 * the classifier and by the scoring thread alike; light, so the scoring thread can import it.
 */
import { getEnv } from '@/lib/env';

export const ONNX_FILE = 'model.onnx';
/** The int8 (QDQ) export, beside model.onnx when the version has a calibration (meta.json `int8`). */
export const INT8_ONNX_FILE = 'model.int8.onnx';

export type OnnxPrecision = 'fp32' | 'int8';

/** int8 when asked for (LOUPE_ONNX_PRECISION) and the version's meta.json has an int8 calibration, else fp32. */
export function onnxPrecisionFor(
  meta: { int8?: unknown },
  wanted: OnnxPrecision = getEnv().LOUPE_ONNX_PRECISION,
): OnnxPrecision {
  return wanted === 'int8' && meta.int8 ? 'int8' : 'fp32';
}

export function onnxFileFor(precision: OnnxPrecision): string {
  return precision === 'int8' ? INT8_ONNX_FILE : ONNX_FILE;
}
