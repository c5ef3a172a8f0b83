import type { Db } from '@/db/client';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import {
  ensureStoredPredictions,
  measureAccuracy,
  measureEce,
  predictStored,
  type MeasuredAccuracy,
  type StoredPrediction,
} from './predictions';
import type { ReportProgress } from './retrain-options';
import type { PreparedRetrain } from './retrain-prepare';

/** One model on the gate's two sets, and its calibration error on the holdout. */
export interface GateMeasure {
  holdout: MeasuredAccuracy;
  heldOutHuman: MeasuredAccuracy;
  ece: number | null;
}

export interface RetrainMeasurement {
  candidate: GateMeasure;
  active: GateMeasure;
  /** The candidate's predictions on `evaluation`, in its order: stored with the candidate's row. */
  candidatePredictions: StoredPrediction[];
}

/**
 * Starts measuring the active model in a worker thread while this thread trains (one core
 * each). Its predictions are stored, so the next run reads them instead. The promise is
 * settled by the caller, on every path (it writes to the database).
 */
export function startActiveEvaluation(db: Db, prepared: PreparedRetrain): ReturnType<typeof ensureStoredPredictions> {
  const { evaluation } = prepared;
  const activeEvaluation = ensureStoredPredictions(db, {
    model: prepared.parent,
    k: prepared.k,
    itemIds: evaluation.itemIds,
    pixelsOf: (i) => evaluation.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
    background: true,
  });
  activeEvaluation.catch(() => {}); // awaited later; this only keeps a failure meanwhile from going unhandled
  return activeEvaluation;
}

/**
 * Step 3 of a retrain: the saved candidate and the active model (from the background run) on
 * the holdout and the held-out human labels, the same items for both.
 */
export async function measureCandidate(input: {
  dir: string;
  temperature: number;
  prepared: PreparedRetrain;
  activeEvaluation: ReturnType<typeof ensureStoredPredictions>;
  progress: ReportProgress;
}): Promise<RetrainMeasurement> {
  const { prepared, progress } = input;
  const { holdout, human, evaluation, k } = prepared;
  progress({
    phase: 'evaluating',
    message: `Measuring the candidate and ${prepared.parent.name} on ${holdout.count} holdout items and ${human.heldOut.count} held-out human labels`,
  });
  const candidatePredictions = await predictStored({
    modelDir: input.dir,
    temperature: input.temperature,
    k,
    pixels: evaluation.pixels,
    count: evaluation.count,
    onProgress: (done, total) =>
      progress({
        phase: 'evaluating',
        message: `Measured the candidate on ${done} of ${total} items`,
        batch: done,
        batches: total,
      }),
  });
  const measure = (list: StoredPrediction[]): GateMeasure => {
    const inHoldout = list.slice(0, holdout.count);
    return {
      holdout: measureAccuracy(inHoldout, holdout.labels),
      heldOutHuman: measureAccuracy(list.slice(holdout.count), human.heldOut.labels),
      ece: measureEce(inHoldout, holdout.labels, k),
    };
  };
  return {
    candidate: measure(candidatePredictions),
    active: measure((await input.activeEvaluation).predictions),
    candidatePredictions,
  };
}
