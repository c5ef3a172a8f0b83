import os from 'node:os';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { ensureInt8OnnxModel, ensureOnnxModel } from '@/lib/ml/onnx/model-file';
import { argmaxRows } from '@/lib/ml/predict';
import { createOnnxLogitsModel, ONNX_BATCH } from '@/lib/ml/onnx/session';
import { loadOnnxRuntime } from '@/lib/ml/scorer';

const round3 = (x: number) => Number(x.toFixed(3));

export interface OnnxInferenceFigures {
  version: string;
  batchSize: number;
  /** One session, one intra-op thread, in this process (after one warm-up batch). */
  oneThreadImagesPerSecond: number;
  /** CPU time (every thread of the process) per 1,000 images on one thread: robust to a busy machine. */
  oneThreadCpuSecondsPer1000: number;
  /** One session with one intra-op thread per core: what Loupe's scorer runs. */
  allCoresImagesPerSecond: number;
  allCoresCpuSecondsPer1000: number;
  cores: number;
  /** Largest absolute difference between the one-thread and all-cores logits. */
  maxAbsDiffAcrossThreads: number;
  /**
   * The int8 export (model.int8.onnx, LOUPE_ONNX_PRECISION=int8) timed the same way, and the share
   * of images whose class it keeps; null for a model without an int8 calibration.
   */
  int8: {
    oneThreadImagesPerSecond: number;
    oneThreadCpuSecondsPer1000: number;
    allCoresImagesPerSecond: number;
    allCoresCpuSecondsPer1000: number;
    sameClassAsFp32: number;
  } | null;
}

function sameClassShare(a: Float32Array, b: Float32Array, count: number): number {
  const k = a.length / count;
  const x = argmaxRows(a, k);
  const y = argmaxRows(b, k);
  return x.filter((c, i) => c === y[i]).length / count;
}

async function timeSession(bytes: Uint8Array, pixels: Uint8Array, count: number, threads: number) {
  const ort = await loadOnnxRuntime();
  const model = await createOnnxLogitsModel(ort, bytes, { threads });
  try {
    await model.predictLogits(pixels, Math.min(ONNX_BATCH, count));
    const cpu = process.cpuUsage();
    const started = performance.now();
    const logits = await model.predictLogits(pixels, count);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return {
      logits,
      imagesPerSecond: count / seconds,
      cpuSecondsPer1000: (used.user + used.system) / 1e6 / (count / 1000),
    };
  } finally {
    await model.dispose();
  }
}

/**
 * ONNX Runtime on the model folder's model.onnx (exported first if missing), without mirror
 * averaging, like the tfjs figures beside it: one thread, and every core in one session. Both
 * in this thread: onnxruntime-node is loaded by one thread of a process only (lib/ml/scorer.ts),
 * so the former figure of one single-threaded session per core in worker threads is gone.
 */
export async function measureOnnxInference(options: {
  modelDir: string;
  pixels: Uint8Array;
  count: number;
}): Promise<OnnxInferenceFigures> {
  const ort = await loadOnnxRuntime();
  const { bytes } = ensureOnnxModel(options.modelDir);
  const cores = os.availableParallelism();
  const pixels = options.pixels.subarray(0, options.count * PIXELS_PER_IMAGE);
  const one = await timeSession(bytes, pixels, options.count, 1);
  const all = await timeSession(bytes, pixels, options.count, cores);
  let maxAbsDiffAcrossThreads = 0;
  for (let i = 0; i < one.logits.length; i++)
    maxAbsDiffAcrossThreads = Math.max(maxAbsDiffAcrossThreads, Math.abs(one.logits[i]! - all.logits[i]!));
  const int8Bytes = ensureInt8OnnxModel(options.modelDir)?.bytes ?? null;
  const int8One = int8Bytes ? await timeSession(int8Bytes, pixels, options.count, 1) : null;
  const int8All = int8Bytes ? await timeSession(int8Bytes, pixels, options.count, cores) : null;

  return {
    version: ort.env.versions?.node ?? 'unknown',
    batchSize: ONNX_BATCH,
    oneThreadImagesPerSecond: Math.round(one.imagesPerSecond),
    oneThreadCpuSecondsPer1000: round3(one.cpuSecondsPer1000),
    allCoresImagesPerSecond: Math.round(all.imagesPerSecond),
    allCoresCpuSecondsPer1000: round3(all.cpuSecondsPer1000),
    cores,
    maxAbsDiffAcrossThreads,
    int8:
      int8One && int8All
        ? {
            oneThreadImagesPerSecond: Math.round(int8One.imagesPerSecond),
            oneThreadCpuSecondsPer1000: round3(int8One.cpuSecondsPer1000),
            allCoresImagesPerSecond: Math.round(int8All.imagesPerSecond),
            allCoresCpuSecondsPer1000: round3(int8All.cpuSecondsPer1000),
            sameClassAsFp32: round3(sameClassShare(one.logits, int8One.logits, options.count)),
          }
        : null,
  };
}
