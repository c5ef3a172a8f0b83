import type { FineTuneMetrics } from '@/lib/models/metrics';
import type { FineTuneResult, FineTuneSettings } from './fine-tune';
import { decidePromotion, type GateDecision } from './gate';
import type { PreparedRetrain } from './retrain-prepare';
import type { RetrainMeasurement } from './retrain-measure';

/**
 * Step 4 of a retrain: the evaluation gate's verdict on the measurements, and the metrics the
 * candidate's row will hold (its figures, its parent's on the same items, how it was trained).
 */
export function decideCandidate(input: {
  prepared: PreparedRetrain;
  tuned: FineTuneResult;
  measured: RetrainMeasurement;
  settings: FineTuneSettings;
  maxHoldoutDropPoints: number;
  shuffleTrainingLabels: boolean;
}): { decision: GateDecision; metrics: FineTuneMetrics } {
  const { prepared, tuned, measured, settings, maxHoldoutDropPoints } = input;
  const { parent, human, replay, validation } = prepared;
  const { candidate, active } = measured;
  const decision = decidePromotion({
    active: { holdout: active.holdout, heldOutHuman: active.heldOutHuman },
    candidate: { holdout: candidate.holdout, heldOutHuman: candidate.heldOutHuman },
    maxHoldoutDropPoints,
  });
  const metrics: FineTuneMetrics = {
    kind: 'fine-tune',
    holdout: candidate.holdout,
    heldOutHuman: candidate.heldOutHuman,
    ece: candidate.ece,
    active: { modelVersionId: parent.id, name: parent.name, ...active },
    humanLabelsUsed: human.train.count,
    heldOutHumanLabels: human.heldOut.count,
    replayUsed: replay.count,
    replaySource: replay.source,
    validationCount: validation.count,
    validationAccuracyBefore: tuned.validationAccuracyBefore,
    validationAccuracy: tuned.validationAccuracy,
    throughReviewId: human.throughReviewId,
    temperature: tuned.temperature,
    temperatureFit: {
      activeOnSlice: tuned.fittedBefore,
      candidateOnSlice: tuned.fittedAfter,
      active: parent.temperature,
    },
    epochs: tuned.history,
    bestEpoch: tuned.bestEpoch,
    trainingSeconds: tuned.seconds,
    trainImagesPerSecond: tuned.imagesPerSecond,
    settings: { ...settings, augment: true, shuffleTrainingLabels: input.shuffleTrainingLabels },
    decision: { ...decision, maxHoldoutDropPoints },
  };
  return { decision, metrics };
}
