/**
 * The learning-rate schedules lib/ml/train.ts knows, in a module without TensorFlow.js, so that
 * the web app can validate and show a lab run's settings without loading it.
 */
export const LEARNING_RATE_SCHEDULES = ['plateau', 'cosine'] as const;
export type LearningRateSchedule = (typeof LEARNING_RATE_SCHEDULES)[number];
