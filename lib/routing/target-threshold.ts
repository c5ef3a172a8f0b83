import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, withTransaction, firstRow } from '@/db/client';
import { settingsChanges, users } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { getRoutingRules } from '@/lib/routing/rules';
import {
  requireUnchangedRouting,
  setThreshold,
  ThresholdSchema,
  type SetThresholdResult,
} from '@/lib/routing/settings';
import {
  holdoutFigures,
  lowestThresholdMeeting,
  THRESHOLD_GRID,
  withThreshold,
  type HoldoutFigures,
} from './projection-figures';
import { readHoldoutPredictions } from './projection';
import { findActiveModel } from '@/lib/models/active';

const TARGET_MESSAGE = 'must be an accuracy above 0 and at most 1 (100%), e.g. 0.99';
export const TargetAccuracy = z.number({ error: TARGET_MESSAGE }).gt(0, TARGET_MESSAGE).lte(1, TARGET_MESSAGE);

const PickInput = z.object({ catalogueId: z.number().int().positive(), targetAccuracy: TargetAccuracy });

export interface TargetPick {
  targetAccuracy: number;
  /** The lowest grid threshold meeting the target on held-out data; null when none does. */
  threshold: number | null;
  /** The holdout figures at that threshold (per-class overrides and audit rate kept). */
  holdout: HoldoutFigures | null;
  /** Held-out items the pick was made on. */
  holdoutItems: number;
  sentence: string;
}

/** Two decimals: targets live near 100%, where 99.86% and 99.9% must not read the same. */
function percent(value: number): string {
  return `${(value * 100).toFixed(2)}%`;
}

/**
 * Target mode: the lowest threshold of the grid (0.50 to 0.99) whose accuracy of auto-accepted
 * items on the holdout, with the active model's stored predictions, is at least the target.
 * "Lowest" is over the grid as it is: a lower threshold may miss the target even when a still
 * lower one met it, since accuracy is not monotone in the threshold (see lowestThresholdMeeting).
 */
export async function pickThresholdForTarget(
  db: Reader,
  input: { catalogueId: number; targetAccuracy: number },
): Promise<TargetPick> {
  const { catalogueId, targetAccuracy } = parseInput(PickInput, input);
  const model = await findActiveModel(db, catalogueId);
  const none = (sentence: string, holdoutItems = 0): TargetPick => ({
    targetAccuracy,
    threshold: null,
    holdout: null,
    holdoutItems,
    sentence,
  });
  if (!model) return none('This catalogue has no active model yet, so there is nothing to pick a threshold from.');
  const { rows, missing } = await readHoldoutPredictions(db, { catalogueId, modelVersionId: model.id });
  if (rows.length === 0)
    return none('The active model has no stored predictions on held-out items yet, so no threshold can be picked.');
  // The evaluate job stores them in rounds: a pick on the first rounds would be a pick on a
  // subset chosen by item id, not on the holdout.
  if (missing > 0) {
    return none(
      `The active model has predictions on ${rows.length.toLocaleString('en')} of the ${(rows.length + missing).toLocaleString('en')} held-out items so far (the worker's evaluate job is storing them), so no threshold was picked; try again in a minute.`,
      rows.length,
    );
  }
  const rules = await getRoutingRules(db, catalogueId);
  // The reviewer accuracy does not enter the auto-accepted accuracy; 1 is a placeholder.
  const points = THRESHOLD_GRID.map((threshold) => ({
    threshold,
    holdout: holdoutFigures(rows, withThreshold(rules, threshold), 1),
  }));
  const picked = lowestThresholdMeeting(points, targetAccuracy);
  if (!picked) {
    const best = Math.max(...points.map((p) => p.holdout.autoAccuracy ?? 0));
    return none(
      `No threshold from ${THRESHOLD_GRID[0]} to ${THRESHOLD_GRID.at(-1)} reaches ${percent(targetAccuracy)} on the ${rows.length.toLocaleString('en')} held-out items (the best is ${percent(best)}); the threshold was not changed.`,
      rows.length,
    );
  }
  const { holdout } = picked;
  return {
    targetAccuracy,
    threshold: picked.threshold,
    holdout,
    holdoutItems: rows.length,
    sentence: `${picked.threshold} is the lowest threshold reaching ${percent(targetAccuracy)}: ${percent(holdout.autoAccuracy ?? 0)} of the ${holdout.aboveThreshold.toLocaleString('en')} held-out items at or above it are right, and ${percent(holdout.reviewShare ?? 0)} of items would go to review.`,
  };
}

export type ApplyTargetResult = TargetPick & { change: SetThresholdResult };

/**
 * Picks the threshold for a target and saves it through lib/settings (which re-routes), with
 * the target recorded as its own settings_changes row ('target_accuracy'), all in one
 * transaction. Refused (conflict) when no grid threshold meets the target.
 */
export async function applyTargetThreshold(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; targetAccuracy: number; expectedThreshold?: number; now?: number },
): Promise<ApplyTargetResult> {
  const actor = requirePermission(input.actor, 'settings.write');
  const { catalogueId, targetAccuracy } = parseInput(PickInput, input);
  const now = input.now ?? Date.now();
  return await withTransaction(
    db,
    async (tx) => {
      // A stale page hears that first: a pick against a threshold it has not seen is beside the point.
      if (input.expectedThreshold !== undefined) {
        const expected = { threshold: parseInput(ThresholdSchema, input.expectedThreshold) };
        await requireUnchangedRouting(tx, { catalogueId, classNames: [], expected });
      }
      const pick = await pickThresholdForTarget(tx, { catalogueId, targetAccuracy });
      if (pick.threshold === null) throw new AppError('conflict', pick.sentence);
      // setThreshold opens its own transaction; on a transaction drizzle makes it a savepoint
      // of this one, so the threshold, its re-routing and the target row commit together.
      // expectedThreshold: a page loaded before another change is refused (conflict), not applied.
      const change = await setThreshold(tx as unknown as Db, {
        actor,
        catalogueId,
        threshold: pick.threshold,
        expectedThreshold: input.expectedThreshold,
        now,
      });
      const previous =
        (
          await tx
            .select({ value: settingsChanges.newValue })
            .from(settingsChanges)
            .where(and(eq(settingsChanges.catalogueId, catalogueId), eq(settingsChanges.field, 'target_accuracy')))
            .orderBy(desc(settingsChanges.id))
            .limit(1)
            .then(firstRow)
        )?.value ?? null;
      await tx.insert(settingsChanges).values({
        catalogueId,
        userId: actor.userId,
        field: 'target_accuracy',
        oldValue: previous,
        newValue: JSON.stringify(targetAccuracy),
        createdAt: new Date(now),
      });
      return { ...pick, change };
    },
    { behavior: 'immediate' },
  );
}

export interface TargetRecord {
  targetAccuracy: number;
  createdAt: Date;
  /** Null for a change made by a script. */
  userEmail: string | null;
}

/** The latest target an admin applied to the catalogue, or null if none was. */
export async function latestTargetAccuracy(db: Reader, catalogueId: number): Promise<TargetRecord | null> {
  const row = await db
    .select({ value: settingsChanges.newValue, createdAt: settingsChanges.createdAt, userEmail: users.email })
    .from(settingsChanges)
    .leftJoin(users, eq(users.id, settingsChanges.userId))
    .where(and(eq(settingsChanges.catalogueId, catalogueId), eq(settingsChanges.field, 'target_accuracy')))
    .orderBy(desc(settingsChanges.id))
    .limit(1)
    .then(firstRow);
  const value: unknown = row?.value ? JSON.parse(row.value) : null;
  return row && typeof value === 'number'
    ? { targetAccuracy: value, createdAt: row.createdAt, userEmail: row.userEmail }
    : null;
}
