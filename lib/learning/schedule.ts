import { jsonNumber } from '@/db/dialect';
import { and, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, withTransaction, firstRow } from '@/db/client';
import {
  DEFAULT_RETRAIN_POLICY,
  items,
  modelVersions,
  reviews,
  settings,
  settingsChanges,
  type Job,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { latestJobOf, TRAIN_MAX_ATTEMPTS, TrainJobPayload, type TrainReason } from '@/lib/jobs/payloads';
import { enqueueJob, type EnqueueResult } from '@/lib/jobs/lifecycle';
import { findActiveModel } from '@/lib/models/active';
import { staleSettingError } from '@/lib/routing/settings-history';

/**
 * When a catalogue's model is fine-tuned: after enough new human labels, on a timer, or when
 * an admin asks. Never two trainings of one catalogue at once: every train job is enqueued
 * `exclusivePerCatalogue`, so a second request gets the job already waiting or running.
 */
export type FullRetrainPolicy = Required<typeof DEFAULT_RETRAIN_POLICY>;

const MIN_LABELS_MESSAGE = 'must be a whole number of labels from 1 to 1,000,000, e.g. 200';
const INTERVAL_MESSAGE =
  'must be off (empty) or a whole number of minutes from 5 to 43,200 (30 days), e.g. 1440 for daily';
const DROP_MESSAGE = 'must be a number of percentage points from 0 to 5, e.g. 0.2';

export const RetrainPolicyInput = z.object({
  enabled: z.boolean({ error: 'must be on or off' }),
  minNewLabels: z
    .number({ error: MIN_LABELS_MESSAGE })
    .int(MIN_LABELS_MESSAGE)
    .min(1, MIN_LABELS_MESSAGE)
    .max(1_000_000, MIN_LABELS_MESSAGE),
  intervalMinutes: z
    .number({ error: INTERVAL_MESSAGE })
    .int(INTERVAL_MESSAGE)
    .min(5, INTERVAL_MESSAGE)
    .max(43_200, INTERVAL_MESSAGE)
    .nullable(),
  maxHoldoutDropPoints: z.number({ error: DROP_MESSAGE }).min(0, DROP_MESSAGE).max(5, DROP_MESSAGE),
});
export type RetrainPolicyInput = z.infer<typeof RetrainPolicyInput>;

const POLICY_KEYS = ['enabled', 'minNewLabels', 'intervalMinutes', 'maxHoldoutDropPoints'] as const;
const POLICY_KEY_NAMES: Record<(typeof POLICY_KEYS)[number], string> = {
  enabled: 'automatic retraining',
  minNewLabels: 'new labels to retrain',
  intervalMinutes: 'timer (minutes)',
  maxHoldoutDropPoints: 'allowed holdout drop (points)',
};

/**
 * The catalogue's retrain policy with every key filled in: stored keys that are missing (rows
 * written before the key existed) or not valid fall back to the default one by one.
 */
export async function getRetrainPolicy(db: Reader, catalogueId: number): Promise<FullRetrainPolicy> {
  const stored = (
    await db
      .select({ policy: settings.retrainPolicy })
      .from(settings)
      .where(eq(settings.catalogueId, catalogueId))
      .limit(1)
      .then(firstRow)
  )?.policy;
  const raw = (stored ?? {}) as Record<string, unknown>;
  const policy = { ...DEFAULT_RETRAIN_POLICY };
  for (const key of POLICY_KEYS) {
    const parsed = RetrainPolicyInput.shape[key].safeParse(raw[key]);
    if (parsed.success) (policy as Record<string, unknown>)[key] = parsed.data;
  }
  return policy;
}

export interface SetRetrainPolicyResult {
  catalogueId: number;
  oldPolicy: FullRetrainPolicy;
  policy: FullRetrainPolicy;
  /** The keys whose value changed (one settings_changes row each); empty when nothing did. */
  changed: (keyof FullRetrainPolicy)[];
}

/** Saves a catalogue's retrain policy and one history row per changed key, in one transaction. */
export async function setRetrainPolicy(
  db: Db,
  input: {
    actor: Actor | null;
    catalogueId: number;
    policy: RetrainPolicyInput;
    /** The policy the caller's form started from: refused (conflict) when it was changed since. */
    expected?: Partial<RetrainPolicyInput>;
    now?: number;
  },
): Promise<SetRetrainPolicyResult> {
  const actor = requirePermission(input.actor, 'settings.write');
  const catalogueId = parseInput(z.number().int().positive(), input.catalogueId);
  const policy = parseInput(RetrainPolicyInput, input.policy);
  const expected = input.expected === undefined ? {} : parseInput(RetrainPolicyInput.partial(), input.expected);
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      await requireCatalogueById(tx, catalogueId);
      const oldPolicy = await getRetrainPolicy(tx, catalogueId);
      const stale = POLICY_KEYS.find((key) => expected[key] !== undefined && expected[key] !== oldPolicy[key]);
      if (stale) {
        throw await staleSettingError(tx, {
          catalogueId,
          field: `retrainPolicy.${stale}`,
          what: `The retrain policy's ${POLICY_KEY_NAMES[stale]} was`,
          stored: oldPolicy[stale],
          value: typeof oldPolicy[stale] === 'number' ? String(oldPolicy[stale]) : oldPolicy[stale] ? 'on' : 'off',
        });
      }
      const changed = POLICY_KEYS.filter((key) => oldPolicy[key] !== policy[key]);
      if (changed.length === 0) return { catalogueId, oldPolicy, policy: oldPolicy, changed };
      await tx
        .insert(settings)
        .values({ catalogueId, retrainPolicy: policy, updatedAt: now, updatedBy: actor.userId })
        .onConflictDoUpdate({
          target: settings.catalogueId,
          set: { retrainPolicy: policy, updatedAt: now, updatedBy: actor.userId },
        });
      for (const key of changed) {
        await tx.insert(settingsChanges).values({
          catalogueId,
          userId: actor.userId,
          field: `retrainPolicy.${key}`,
          oldValue: JSON.stringify(oldPolicy[key]),
          newValue: JSON.stringify(policy[key]),
          createdAt: now,
        });
      }
      return { catalogueId, oldPolicy, policy, changed };
    },
    { behavior: 'immediate' },
  );
}

/**
 * The last review id a training of this catalogue has seen: the highest `throughReviewId` any
 * of its candidates recorded (rejected ones too, so a rejection does not retrain at once on
 * the same labels); 0 before the first.
 */
export async function trainingCutoff(db: Reader, catalogueId: number): Promise<number> {
  const row = await db
    .select({
      through: sql<number | null>`max(cast(${jsonNumber(modelVersions.metrics, 'throughReviewId')} as integer))`,
    })
    .from(modelVersions)
    .where(eq(modelVersions.catalogueId, catalogueId))
    .limit(1)
    .then(firstRow);
  return row?.through ?? 0;
}

/**
 * Human labels that arrived after the last training's cut-off: items given a label by a
 * confirm or correct that was not undone. Counted per item (an item undone and decided again
 * is one label); evaluation items (holdout, gold) are left out, as training leaves them out
 * (lib/learning/split.ts readHumanLabels).
 */
export async function countNewHumanLabels(
  db: Reader,
  catalogueId: number,
): Promise<{ count: number; sinceReviewId: number }> {
  const sinceReviewId = await trainingCutoff(db, catalogueId);
  const row = await db
    .select({ n: sql<number>`count(distinct ${reviews.itemId})` })
    .from(reviews)
    .innerJoin(items, eq(items.id, reviews.itemId))
    .where(
      and(
        eq(items.catalogueId, catalogueId),
        inArray(reviews.action, ['confirm', 'correct']),
        gt(reviews.id, sinceReviewId),
        isNull(items.evalRole),
        sql`not exists (select 1 from reviews u where u.reverts_review_id = ${reviews.id})`,
      ),
    )
    .limit(1)
    .then(firstRow);
  return { count: row?.n ?? 0, sinceReviewId };
}

/** After a training job failed for good, the scheduler waits this long before trying again on its own. */
export const FAILED_TRAINING_BACKOFF_MS = 30 * 60_000;

export type RetrainCheck =
  | { enqueued: true; job: Job; reason: Exclude<TrainReason, 'manual'>; newLabels: number }
  | { enqueued: false; why: string; newLabels: number | null; job?: Job };

async function enqueueTrain(db: Db, payload: TrainJobPayload, now: number): Promise<EnqueueResult> {
  return await enqueueJob(db, {
    kind: 'train',
    payload: TrainJobPayload.parse(payload),
    maxAttempts: TRAIN_MAX_ATTEMPTS,
    exclusivePerCatalogue: true,
    now,
  });
}

/**
 * The scheduler's rule, run by the worker between jobs: enqueue a training job when the
 * policy is enabled and either enough new human labels arrived, or the timer is on, its
 * interval has passed since the last training job (or since the active model was promoted,
 * before any) and at least one new label arrived (retraining on nothing teaches nothing).
 */
export async function maybeEnqueueRetrain(db: Db, input: { catalogueId: number; now?: number }): Promise<RetrainCheck> {
  const now = input.now ?? Date.now();
  const { catalogueId } = input;
  const model = await findActiveModel(db, catalogueId);
  if (!model) return { enqueued: false, why: 'The catalogue has no active model to fine-tune.', newLabels: null };
  const policy = await getRetrainPolicy(db, catalogueId);
  if (!policy.enabled)
    return { enqueued: false, why: 'Automatic retraining is off for this catalogue.', newLabels: null };
  const last = await latestJobOf(db, { kind: 'train', catalogueId });
  if (last && (last.status === 'queued' || last.status === 'running')) {
    return { enqueued: false, why: 'A training job is already queued or running.', newLabels: null, job: last };
  }
  if (last?.status === 'failed' && last.finishedAt && now - last.finishedAt.getTime() < FAILED_TRAINING_BACKOFF_MS) {
    return {
      enqueued: false,
      why: 'The last training failed; automatic retraining waits 30 minutes before trying again.',
      newLabels: null,
      job: last,
    };
  }
  const { count } = await countNewHumanLabels(db, catalogueId);
  const enqueue = async (reason: 'labels' | 'timer'): Promise<RetrainCheck> => {
    const { job, created } = await enqueueTrain(db, { catalogueId, reason }, now);
    return created
      ? { enqueued: true, job, reason, newLabels: count }
      : { enqueued: false, why: 'A training job is already queued or running.', newLabels: count, job };
  };
  if (count >= policy.minNewLabels) return await enqueue('labels');
  if (policy.intervalMinutes !== null && count > 0) {
    const since = last?.createdAt ?? model.promotedAt ?? model.createdAt;
    if (now - since.getTime() >= policy.intervalMinutes * 60_000) return await enqueue('timer');
  }
  return { enqueued: false, why: `${count} of ${policy.minNewLabels} new human labels so far.`, newLabels: count };
}

/** An admin's "train now": a training job for the catalogue, or the one already queued or running. */
export async function requestRetrainNow(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; now?: number },
): Promise<EnqueueResult> {
  const actor = requirePermission(input.actor, 'models.manage');
  const catalogueId = parseInput(z.number().int().positive(), input.catalogueId);
  const catalogue = await requireCatalogueById(db, catalogueId);
  if (!(await findActiveModel(db, catalogueId)))
    throw new AppError(
      'conflict',
      `${catalogue.name} has no active model to fine-tune; import or register a model first.`,
    );
  return await enqueueTrain(db, { catalogueId, reason: 'manual', requestedBy: actor.userId }, input.now ?? Date.now());
}
