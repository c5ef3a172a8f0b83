import { z } from 'zod';

/**
 * The evaluation gate: whether a candidate model may replace the active one. Two unbiased
 * measurements decide, each taken on data neither model was trained on:
 * - the catalogue's holdout (trusted labels): the candidate may not lose more than
 *   `maxHoldoutDropPoints` percentage points of accuracy (forgetting what it knew);
 * - human labels held out from the candidate's training: its accuracy there must improve
 *   (it learnt what the reviewers taught), strictly.
 */
export const DEFAULT_MAX_HOLDOUT_DROP_POINTS = 0.2;

const Measure = z
  .object({ correct: z.number().int().min(0), total: z.number().int().min(0) })
  .refine((m) => m.correct <= m.total, 'correct cannot exceed total');
export type Measure = z.infer<typeof Measure>;

export const GateInput = z.object({
  active: z.object({ holdout: Measure, heldOutHuman: Measure }),
  candidate: z.object({ holdout: Measure, heldOutHuman: Measure }),
  maxHoldoutDropPoints: z.number().min(0).max(100).default(DEFAULT_MAX_HOLDOUT_DROP_POINTS),
});
export type GateInput = z.input<typeof GateInput>;

export interface GateDecision {
  promote: boolean;
  /** A sentence for the admin page: why promoted or rejected, with the figures. */
  reason: string;
  holdoutDeltaPoints: number | null;
  heldOutHumanDeltaPoints: number | null;
}

const accuracy = (m: Measure) => (m.total === 0 ? null : m.correct / m.total);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const points = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} points`;

export function decidePromotion(raw: GateInput): GateDecision {
  const input = GateInput.parse(raw);
  const activeHoldout = accuracy(input.active.holdout);
  const candidateHoldout = accuracy(input.candidate.holdout);
  const activeHuman = accuracy(input.active.heldOutHuman);
  const candidateHuman = accuracy(input.candidate.heldOutHuman);
  const holdoutDelta =
    activeHoldout !== null && candidateHoldout !== null ? (candidateHoldout - activeHoldout) * 100 : null;
  const humanDelta = activeHuman !== null && candidateHuman !== null ? (candidateHuman - activeHuman) * 100 : null;
  const decision = (promote: boolean, reason: string): GateDecision => ({
    promote,
    reason,
    holdoutDeltaPoints: holdoutDelta,
    heldOutHumanDeltaPoints: humanDelta,
  });

  if (holdoutDelta === null || candidateHoldout === null || activeHoldout === null) {
    return decision(
      false,
      'Rejected: the catalogue has no holdout items with trusted labels, so forgetting cannot be ruled out.',
    );
  }
  if (humanDelta === null || candidateHuman === null || activeHuman === null) {
    return decision(false, 'Rejected: no human labels were held out from training, so the gain cannot be measured.');
  }
  // Compared in points rounded to 1e-9 so that exact ties are not lost to float noise.
  if (Math.round(holdoutDelta * 1e9) < Math.round(-input.maxHoldoutDropPoints * 1e9)) {
    return decision(
      false,
      `Rejected: holdout accuracy fell from ${pct(activeHoldout)} to ${pct(candidateHoldout)} (${points(holdoutDelta)}; at most -${input.maxHoldoutDropPoints.toFixed(2)} allowed).`,
    );
  }
  if (Math.round(humanDelta * 1e9) <= 0) {
    return decision(
      false,
      `Rejected: accuracy on ${input.candidate.heldOutHuman.total} held-out human labels did not improve (${pct(activeHuman)} -> ${pct(candidateHuman)}).`,
    );
  }
  return decision(
    true,
    `Promoted: held-out human labels ${pct(activeHuman)} -> ${pct(candidateHuman)} (${points(humanDelta)}), holdout ${pct(activeHoldout)} -> ${pct(candidateHoldout)} (${points(holdoutDelta)}).`,
  );
}
