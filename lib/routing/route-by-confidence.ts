import type { ItemStatus } from '@/db/schema';

export const DEFAULT_THRESHOLD = 0.9;

/**
 * Where a model-labelled item goes: auto-accepted when the calibrated confidence of its
 * predicted class reaches the catalogue's threshold, otherwise to the review queue.
 * Items a human labelled are never routed again (see `isRoutable`).
 */
export function routeByConfidence(
  confidence: number,
  threshold: number,
): Extract<ItemStatus, 'auto_accepted' | 'needs_review'> {
  // Confidences are stored as float64 from float32 probabilities: compare at float32 so
  // that a probability of exactly the threshold counts as meeting it.
  return Math.fround(confidence) >= Math.fround(threshold) ? 'auto_accepted' : 'needs_review';
}
