import type { Db } from '@/db/client';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { countPlannedMoves, planReroute, type RerouteResult } from './reroute';
import { resolveRoutingChange, SetRoutingRulesInput, type RoutingRulesPatch } from './settings';
import type { RoutingField } from './settings-history';
import { pickThresholdForTarget } from './target-threshold';

/**
 * A save that moves this many items or more (into the queue and out of it together) is
 * announced before it happens and waits for a confirmation. A hundred items is about seven
 * reviewer-minutes at the assumed 4 s a decision: below it a slip is cheap to put back.
 */
export const LARGE_MOVE_ITEMS = 100;

export interface RoutingPreview extends RerouteResult {
  catalogueId: number;
  /** The fields the save would change; none means the save changes nothing. */
  changed: RoutingField[];
  /** entered + left. */
  moved: number;
  /** True when the save should be confirmed first (`needsMoveConfirmation`). */
  large: boolean;
}

export function needsMoveConfirmation(moves: { entered: number; left: number }): boolean {
  return moves.entered + moves.left >= LARGE_MOVE_ITEMS;
}

/**
 * What saving `patch` would do to the queue, written nowhere: the same resolution of the patch
 * (class indexes, the stale check against `expected`) and the same routing plan as
 * `setRoutingRules`, so a form can say "this moves 420 items" before it saves. Items decided or
 * claimed between the preview and the save make the save's own counts differ a little; the
 * save reports those.
 */
export async function previewRoutingRules(
  db: Db,
  input: RoutingRulesPatch & { actor: Actor | null; catalogueId: number; expected?: RoutingRulesPatch; now?: number },
): Promise<RoutingPreview> {
  requirePermission(input.actor, 'settings.write');
  const {
    catalogueId,
    now: nowMs,
    expected,
    ...patch
  } = parseInput(SetRoutingRulesInput, { ...input, actor: undefined });
  const { next, changed } = await resolveRoutingChange(db, { catalogueId, patch, expected });
  // The gold rate decides claims, not routing: changing only it moves nothing.
  const moves = changed.some((field) => field !== 'goldRate')
    ? countPlannedMoves(await planReroute(db, { catalogueId, rules: next, now: new Date(nowMs ?? Date.now()) }))
    : { entered: 0, left: 0, held: 0 };
  return {
    catalogueId,
    changed,
    ...moves,
    moved: moves.entered + moves.left,
    large: needsMoveConfirmation(moves),
  };
}

export interface TargetPreview extends RoutingPreview {
  /** The threshold target mode would save. */
  threshold: number;
}

/**
 * Target mode's preview: the threshold it would pick (refused, like the save, when the page is
 * stale or no threshold meets the target) and what saving it would move.
 */
export async function previewTargetThreshold(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; targetAccuracy: number; expectedThreshold?: number; now?: number },
): Promise<TargetPreview> {
  const actor = requirePermission(input.actor, 'settings.write');
  const expected = input.expectedThreshold === undefined ? undefined : { threshold: input.expectedThreshold };
  // The stale check first, as the save does: a pick against a threshold the page has not seen is beside the point.
  if (expected) await previewRoutingRules(db, { actor, catalogueId: input.catalogueId, expected });
  const pick = await pickThresholdForTarget(db, {
    catalogueId: input.catalogueId,
    targetAccuracy: input.targetAccuracy,
  });
  if (pick.threshold === null) throw new AppError('conflict', pick.sentence);
  const preview = await previewRoutingRules(db, {
    actor,
    catalogueId: input.catalogueId,
    threshold: pick.threshold,
    expected,
    now: input.now,
  });
  return { ...preview, threshold: pick.threshold };
}
