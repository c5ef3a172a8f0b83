import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, withTransaction, firstRow } from '@/db/client';
import { settings, settingsChanges } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { countWaitingAudits, rerouteCatalogue, type RerouteResult } from '@/lib/routing/reroute';
import { DEFAULT_GOLD_RATE, getRoutingRules, type RoutingRules } from '@/lib/routing/rules';
import {
  describeRoutingValue,
  ROUTING_FIELDS,
  sameSettingValue,
  staleSettingError,
  type RoutingField,
} from './settings-history';

const THRESHOLD_MESSAGE = 'must be a calibrated confidence strictly between 0 and 1, e.g. 0.9';
export const ThresholdSchema = z.number({ error: THRESHOLD_MESSAGE }).gt(0, THRESHOLD_MESSAGE).lt(1, THRESHOLD_MESSAGE);

const SetThresholdInput = z.object({
  catalogueId: z.number().int().positive(),
  threshold: ThresholdSchema,
  /** The threshold the caller's form showed; absent means no check (scripts, older API callers). */
  expectedThreshold: ThresholdSchema.optional(),
  /** ms since the epoch; injectable so tests decide which leases are live. */
  now: z.number().int().nonnegative().optional(),
});

export interface SetThresholdResult {
  catalogueId: number;
  oldThreshold: number;
  threshold: number;
  /** Auto-accepted items that now go to the review queue. */
  entered: number;
  /** Items waiting for review that are now auto-accepted. */
  left: number;
  /** Routable items a reviewer holds on a live lease: left where they are. */
  held: number;
}

/**
 * Changes a catalogue's global threshold (see `setRoutingRules`, which this calls): the
 * settings row, the history row and every status change commit together or not at all.
 */
export async function setThreshold(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; threshold: number; expectedThreshold?: number; now?: number },
): Promise<SetThresholdResult> {
  const actor = requirePermission(input.actor, 'settings.write');
  const { catalogueId, threshold, expectedThreshold, now } = parseInput(SetThresholdInput, input);
  const expected = expectedThreshold === undefined ? undefined : { threshold: expectedThreshold };
  const result = await setRoutingRules(db, { actor, catalogueId, now, threshold, expected });
  return {
    catalogueId,
    oldThreshold: result.old.threshold,
    threshold: result.new.threshold,
    entered: result.entered,
    left: result.left,
    held: result.held,
  };
}

const RATE_MESSAGE = 'must be a share between 0 and 0.5, e.g. 0.02 for 2%';
const RateSchema = z.number({ error: RATE_MESSAGE }).min(0, RATE_MESSAGE).max(0.5, RATE_MESSAGE);

/** What an admin may change at once; an absent field stays as it is. */
export const RoutingRulesPatch = z.object(
  {
    threshold: ThresholdSchema.optional(),
    /** The whole override map: a class left out has no override (the global threshold applies). */
    perClassThresholds: z
      .record(z.string(), ThresholdSchema, { error: 'must map class indexes to thresholds, e.g. {"6": 0.97}' })
      .optional(),
    auditRate: RateSchema.optional(),
    goldRate: RateSchema.optional(),
  },
  { error: 'the routing rules are an object of threshold, perClassThresholds, auditRate and goldRate' },
);
export type RoutingRulesPatch = z.infer<typeof RoutingRulesPatch>;

export const SetRoutingRulesInput = RoutingRulesPatch.extend({
  /**
   * The values the caller's form started from, for the fields it overwrites: the write is
   * refused (conflict) when any of them was changed since. Absent means no check.
   */
  expected: RoutingRulesPatch.optional(),
  catalogueId: z.number().int().positive(),
  now: z.number().int().nonnegative().optional(),
});

/** The routing rules plus the gold rate (which decides claims, not routing). */
export interface RoutingSettings extends RoutingRules {
  goldRate: number;
}

export async function getRoutingSettings(db: Reader, catalogueId: number): Promise<RoutingSettings> {
  const goldRate =
    (
      await db
        .select({ goldRate: settings.goldRate })
        .from(settings)
        .where(eq(settings.catalogueId, catalogueId))
        .limit(1)
        .then(firstRow)
    )?.goldRate ?? DEFAULT_GOLD_RATE;
  return { ...(await getRoutingRules(db, catalogueId)), goldRate };
}

export interface SetRoutingRulesResult extends RerouteResult {
  catalogueId: number;
  old: RoutingSettings;
  new: RoutingSettings;
  /** The fields whose value changed, each recorded in the history. */
  changed: RoutingField[];
  /** Items of the audit sample waiting for review after the change. */
  auditWaiting: number;
}

/** Override maps compare equal whatever their key order. */
function sortedOverrides(map: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => Number(a) - Number(b)));
}

/**
 * What a patch changes, before anything is written: the settings now, the settings after, and
 * the fields that differ. Refuses class indexes the catalogue lacks (bad_input) and, when
 * `expected` is given, values changed since the caller's form loaded (conflict). Shared by the
 * save and its preview, so the preview counts exactly what the save would do.
 */
export async function resolveRoutingChange(
  db: Reader,
  input: { catalogueId: number; patch: RoutingRulesPatch; expected?: RoutingRulesPatch },
): Promise<{ old: RoutingSettings; next: RoutingSettings; changed: RoutingField[] }> {
  const { catalogueId, patch, expected } = input;
  const catalogue = await requireCatalogueById(db, catalogueId);
  const classCount = catalogue.classNames.length;
  for (const key of Object.keys(patch.perClassThresholds ?? {})) {
    if (!/^(0|[1-9][0-9]*)$/.test(key))
      throw new AppError(
        'bad_input',
        `perClassThresholds: "${key}" is not a class index; name a class by its index, e.g. 6.`,
      );
    if (Number(key) >= classCount)
      throw new AppError(
        'bad_input',
        `perClassThresholds: class ${key} is not one of this catalogue's classes (0-${classCount - 1}).`,
      );
  }
  const old = await getRoutingSettings(db, catalogueId);
  // Inside the caller's immediate transaction, nothing can change between this read and its write.
  if (expected) await requireUnchangedRouting(db, { catalogueId, classNames: catalogue.classNames, expected, old });
  const next: RoutingSettings = {
    ...old,
    ...patch,
    perClassThresholds: sortedOverrides(patch.perClassThresholds ?? old.perClassThresholds),
  };
  const changed = ROUTING_FIELDS.filter((field) => !sameSettingValue(sortedOrSelf(old[field]), next[field]));
  return { old, next, changed };
}

/**
 * Changes any of a catalogue's routing rules (global threshold, per-class overrides, audit
 * rate, gold rate) and routes its model-labelled items again under them, in one immediate
 * transaction: the settings row, one history row per changed field (who, old, new) and every
 * status change commit together or not at all. Which items move is `rerouteCatalogue`'s rule:
 * held items, human and import labels and evaluation items stay as they are.
 */
export async function setRoutingRules(
  db: Db,
  input: RoutingRulesPatch & {
    actor: Actor | null;
    catalogueId: number;
    expected?: RoutingRulesPatch;
    now?: number;
  },
): Promise<SetRoutingRulesResult> {
  const actor = requirePermission(input.actor, 'settings.write');
  const {
    catalogueId,
    now: nowMs,
    expected,
    ...patch
  } = parseInput(SetRoutingRulesInput, { ...input, actor: undefined });
  const now = new Date(nowMs ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      const { old, next, changed } = await resolveRoutingChange(tx, { catalogueId, patch, expected });
      const result: SetRoutingRulesResult = {
        catalogueId,
        old,
        new: next,
        changed,
        entered: 0,
        left: 0,
        held: 0,
        auditWaiting: 0,
      };
      if (changed.length === 0) {
        result.auditWaiting = await countWaitingAudits(tx, catalogueId);
        return result;
      }
      const values = {
        threshold: next.threshold,
        perClassThresholds: next.perClassThresholds,
        auditRate: next.auditRate,
        goldRate: next.goldRate,
        updatedAt: now,
        updatedBy: actor.userId,
      };
      await tx
        .insert(settings)
        .values({ catalogueId, ...values })
        .onConflictDoUpdate({ target: settings.catalogueId, set: values });
      for (const field of changed) {
        await tx.insert(settingsChanges).values({
          catalogueId,
          userId: actor.userId,
          field,
          oldValue: JSON.stringify(old[field]),
          newValue: JSON.stringify(next[field]),
          createdAt: now,
        });
      }
      // The gold rate decides claims, not routing: changing only it moves nothing.
      if (changed.some((field) => field !== 'goldRate'))
        Object.assign(result, await rerouteCatalogue(tx, { catalogueId, rules: next, now }));
      result.auditWaiting = await countWaitingAudits(tx, catalogueId);
      return result;
    },
    { behavior: 'immediate' },
  );
}

/**
 * Refuses (conflict) when any routing value in `expected` (what the caller's form showed) is
 * not the stored one. Call it inside the immediate transaction that writes, so the compare and
 * the write see the same row.
 */
export async function requireUnchangedRouting(
  db: Reader,
  input: { catalogueId: number; classNames: string[]; expected: RoutingRulesPatch; old?: RoutingSettings },
): Promise<void> {
  const { catalogueId, expected } = input;
  const old = input.old ?? (await getRoutingSettings(db, catalogueId));
  for (const field of ROUTING_FIELDS) {
    const seen = expected[field];
    if (seen !== undefined && !sameSettingValue(sortedOrSelf(old[field]), sortedOrSelf(seen))) {
      throw await staleSettingError(db, {
        catalogueId,
        field,
        what: ROUTING_FIELD_SUBJECTS[field],
        value: describeRoutingValue(old[field], input.classNames),
        stored: old[field],
      });
    }
  }
}

/** How the conflict sentence names each field ("The audit rate was changed to ..."). */
const ROUTING_FIELD_SUBJECTS: Record<RoutingField, string> = {
  threshold: 'The threshold was',
  perClassThresholds: 'The per-class thresholds were',
  auditRate: 'The audit rate was',
  goldRate: 'The gold rate was',
};

function sortedOrSelf(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? sortedOverrides(value as Record<string, number>) : value;
}
