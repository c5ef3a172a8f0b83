import { z } from 'zod';

/**
 * `model_versions.metrics` (a JSON column): what each kind of version stores, checked when
 * written, and one lenient reader for every page, dashboard and script that reads it back.
 */

const Count = z.number().int().nonnegative();

/** Correct answers out of `total`; `accuracy` is null when `total` is 0. */
export const MeasuredAccuracy = z.object({ correct: Count, total: Count, accuracy: z.number().nullable() });

const EpochReport = z.object({
  epoch: z.number(),
  loss: z.number(),
  valLoss: z.number(),
  valAccuracy: z.number(),
  learningRate: z.number(),
  seconds: z.number(),
});

/** A fine-tuned candidate's metrics: lib/learning/retrain.ts writes them. */
export const FineTuneMetrics = z.object({
  kind: z.literal('fine-tune'),
  /** The candidate on the catalogue's holdout (trusted labels, never trained on). */
  holdout: MeasuredAccuracy,
  /** The candidate on human labels held out from its training. */
  heldOutHuman: MeasuredAccuracy,
  /** Expected calibration error (15 bins) of the candidate on the holdout, at its temperature. */
  ece: z.number().nullable(),
  /** The active model (the parent) measured on the same items for the same decision. */
  active: z.object({
    modelVersionId: z.number().int(),
    name: z.string(),
    holdout: MeasuredAccuracy,
    heldOutHuman: MeasuredAccuracy,
    ece: z.number().nullable(),
  }),
  humanLabelsUsed: Count,
  heldOutHumanLabels: Count,
  replayUsed: Count,
  replaySource: z.enum(['fashion-mnist-train', 'bundled-replay', 'mnist-digits-train', 'catalogue-imports', 'none']),
  /** Images of the training pool set aside for per-epoch validation and the temperature. */
  validationCount: Count,
  /** The active model's accuracy on that slice, before fine-tuning. */
  validationAccuracyBefore: z.number(),
  validationAccuracy: z.number(),
  /** The newest review when the human labels were read: later labels are not in this model. */
  throughReviewId: z.number().int(),
  temperature: z.number(),
  /** Fitted on the validation slice to the active model and to the candidate (see fineTune). */
  temperatureFit: z.object({ activeOnSlice: z.number(), candidateOnSlice: z.number(), active: z.number() }),
  epochs: z.array(EpochReport),
  bestEpoch: z.number().int(),
  trainingSeconds: z.number(),
  trainImagesPerSecond: z.number(),
  settings: z.object({
    epochs: z.number().int(),
    learningRate: z.number(),
    batchSize: z.number().int(),
    seed: z.number().int(),
    layers: z.enum(['head', 'all']),
    inferenceModeLayers: z.boolean(),
    augment: z.literal(true),
    shuffleTrainingLabels: z.boolean(),
  }),
  /** The evaluation gate's verdict, with the allowed holdout drop it applied. */
  decision: z.object({
    promote: z.boolean(),
    reason: z.string(),
    holdoutDeltaPoints: z.number().nullable(),
    heldOutHumanDeltaPoints: z.number().nullable(),
    maxHoldoutDropPoints: z.number(),
  }),
});
export type FineTuneMetrics = z.infer<typeof FineTuneMetrics>;

/** A version registered from a trained model folder (the shipped model): its meta.json figures. */
export const ShippedModelMetrics = z.object({
  validation: z.object({ accuracy: z.number(), ece: z.number() }).loose(),
  params: z.number().int(),
  trainImagesPerSecond: z.number(),
});
export type ShippedModelMetrics = z.infer<typeof ShippedModelMetrics>;

const Measure = z.object({ correct: Count, total: Count });
/** Each field on its own: a malformed one reads as absent and never hides the others. */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const finite = lenient(z.number());

const StoredModelMetrics = z.object({
  kind: lenient(z.string()),
  holdout: lenient(Measure),
  heldOutHuman: lenient(Measure),
  ece: finite,
  active: lenient(
    z.object({
      modelVersionId: lenient(z.number().int()),
      holdout: lenient(Measure),
      heldOutHuman: lenient(Measure),
      ece: finite,
    }),
  ),
  validation: lenient(z.object({ accuracy: finite, ece: finite })),
  decision: lenient(z.object({ reason: z.string() })),
  humanLabelsUsed: finite,
  replayUsed: finite,
  trainingSeconds: finite,
});
export type StoredModelMetrics = z.infer<typeof StoredModelMetrics>;

/**
 * Reads any version's stored metrics without trusting them (rows written by older versions of
 * Loupe, or by hand): every field the readers use, each absent when missing or malformed.
 */
export function readModelMetrics(value: unknown): StoredModelMetrics {
  const parsed = StoredModelMetrics.safeParse(value ?? {});
  return parsed.success ? parsed.data : {};
}
