import { z } from 'zod';
import type { Db } from '@/db/client';
import type { Actor } from '@/lib/auth/permissions';
import { setThreshold, ThresholdSchema, type SetThresholdResult } from '@/lib/routing/settings';
import { applyTargetThreshold, TargetAccuracy, type ApplyTargetResult } from '@/lib/routing/target-threshold';

/**
 * The body of PUT /api/v1/catalogues/:slug/threshold: exactly one of `threshold` and
 * `targetAccuracy`, and optionally `expectedThreshold`, the threshold the caller last saw: the
 * change is refused (409) when the stored one differs. Without it nothing is checked, as before.
 */
export const ThresholdChangeRequest = z
  .object({
    threshold: ThresholdSchema.optional(),
    targetAccuracy: TargetAccuracy.optional(),
    expectedThreshold: ThresholdSchema.optional(),
  })
  .strict()
  .refine((body) => (body.threshold === undefined) !== (body.targetAccuracy === undefined), {
    error: 'send either {"threshold": 0.9} or {"targetAccuracy": 0.98}: exactly one of the two',
  });
export type ThresholdChangeRequest = z.infer<typeof ThresholdChangeRequest>;

export type ThresholdChangeAnswer =
  | { mode: 'fixed'; change: SetThresholdResult }
  | { mode: 'target'; targetAccuracy: number; sentence: string; change: SetThresholdResult };

export async function changeThreshold(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; request: ThresholdChangeRequest },
): Promise<ThresholdChangeAnswer> {
  const { actor, catalogueId, request } = input;
  const { expectedThreshold } = request;
  if (request.threshold !== undefined) {
    const change = await setThreshold(db, { actor, catalogueId, threshold: request.threshold, expectedThreshold });
    return { mode: 'fixed', change };
  }
  const targetAccuracy = request.targetAccuracy!;
  const result: ApplyTargetResult = await applyTargetThreshold(db, {
    actor,
    catalogueId,
    targetAccuracy,
    expectedThreshold,
  });
  return { mode: 'target', targetAccuracy, sentence: result.sentence, change: result.change };
}
