import { and, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { changedRows, firstRow, onlyRow, withTransaction, type Db } from '@/db/client';
import { preparedPerHandle } from '@/db/prepared';
import {
  catalogues,
  DECISION_ACTIONS,
  items,
  leases,
  modelVersions,
  predictions,
  reviews,
  type Review,
  type ReviewAction,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { LEASE_EXPIRED_MESSAGE } from '@/lib/review/queue';

export { undoLastReview, UNDO_WINDOW_MS, type UndoResult } from './undo';
export { reviewerStats, type ReviewerStats } from './reviewer-stats';

const ClientId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,100}$/, 'a client id is 8-100 letters, digits, dashes or underscores (e.g. a UUID)');
/** Above an hour the reviewer walked away; such a time would only distort the medians. */
const DurationMs = z
  .number()
  .int()
  .min(0, 'a duration cannot be negative')
  .max(3_600_000, 'a duration is at most one hour');
const Label = z.number().int().nonnegative();

/**
 * One decision from the focus view. `modelVersionId` is the model whose answer the reviewer
 * was shown (from the claim); without it, the catalogue's active model is assumed.
 */
export const SubmitReviewInput = z
  .object({
    itemId: z.number().int().positive(),
    action: z.enum(DECISION_ACTIONS, { error: `an action is one of ${DECISION_ACTIONS.join(', ')}` }),
    label: Label.nullish(),
    clientId: ClientId,
    durationMs: DurationMs,
    modelVersionId: z.number().int().positive().nullish(),
  })
  .superRefine((value, ctx) => {
    if (value.action === 'correct' && value.label == null)
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'a correction needs the class chosen' });
    if ((value.action === 'skip' || value.action === 'unsure') && value.label != null)
      ctx.addIssue({ code: 'custom', path: ['label'], message: `${value.action} takes no label` });
  });
export type SubmitReviewInput = z.infer<typeof SubmitReviewInput>;

/** The grid view's submit: `label` null confirms the model's answer, a class index corrects it. */
export const GridDecision = z.object({
  itemId: z.number().int().positive(),
  label: Label.nullable(),
  clientId: ClientId,
  durationMs: DurationMs,
  modelVersionId: z.number().int().positive().nullish(),
});
export const SubmitGridReviewInput = z.object({
  catalogueId: z.number().int().positive(),
  decisions: z
    .array(GridDecision)
    .min(1, 'a grid submit has at least one decision')
    .max(100)
    .refine((list) => new Set(list.map((d) => d.itemId)).size === list.length, 'each item appears once')
    .refine((list) => new Set(list.map((d) => d.clientId)).size === list.length, 'each decision has its own client id'),
});
export type SubmitGridReviewInput = z.infer<typeof SubmitGridReviewInput>;

export interface SubmitResult {
  review: Review;
  /** True when this clientId was already recorded: nothing was written this time. */
  replayed: boolean;
}

interface Decision {
  itemId: number;
  action: Exclude<ReviewAction, 'undo'>;
  label: number | null;
  clientId: string;
  durationMs: number;
  modelVersionId: number | null;
}

/**
 * The submit's statements, prepared once per database handle (db/prepared.ts); they run inside
 * the caller's transaction. Placeholders in WHERE clauses take driver values (milliseconds, not Dates).
 */
function prepareSubmit(db: Db) {
  const p = <T extends string>(name: T) => sql.placeholder(name);
  return {
    byClientId: db
      .select()
      .from(reviews)
      .where(eq(reviews.clientId, p('clientId')))
      .prepare(),
    item: db
      .select({ id: items.id, catalogueId: items.catalogueId, evalRole: items.evalRole })
      .from(items)
      .where(eq(items.id, p('itemId')))
      .prepare(),
    classNames: db
      .select({ classNames: catalogues.classNames })
      .from(catalogues)
      .where(eq(catalogues.id, p('catalogueId')))
      .prepare(),
    activeModel: db
      .select({ id: modelVersions.id })
      .from(modelVersions)
      .where(and(eq(modelVersions.catalogueId, p('catalogueId')), eq(modelVersions.status, 'active')))
      .prepare(),
    prediction: db
      .select({ label: predictions.predictedClass })
      .from(predictions)
      .where(and(eq(predictions.itemId, p('itemId')), eq(predictions.modelVersionId, p('modelVersionId'))))
      .prepare(),
    // The lease is the condition of the write itself: owner and liveness in the DELETE's WHERE.
    releaseLease: db
      .delete(leases)
      .where(
        and(eq(leases.itemId, p('itemId')), eq(leases.reviewerId, p('reviewerId')), gt(leases.expiresAt, p('nowMs'))),
      )
      .prepare(),
    insertReview: db
      .insert(reviews)
      .values({
        itemId: p('itemId'),
        reviewerId: p('reviewerId'),
        modelVersionId: p('modelVersionId'),
        modelLabel: p('modelLabel'),
        chosenLabel: p('chosenLabel'),
        action: p('action'),
        durationMs: p('durationMs'),
        clientId: p('clientId'),
        createdAt: p('createdAt'),
      })
      .returning()
      .prepare(),
    label: db
      .update(items)
      .set({ currentLabel: sql`${p('label')}`, labelSource: 'human', status: 'reviewed' })
      .where(and(eq(items.id, p('itemId')), eq(items.status, 'needs_review')))
      .prepare(),
  };
}
type SubmitStatements = ReturnType<typeof prepareSubmit>;
const submitStatements = preparedPerHandle(prepareSubmit);

/** The prediction the reviewer saw: of the named model version, else of the active one. */
async function modelAnswer(
  statements: SubmitStatements,
  item: { id: number; catalogueId: number },
  modelVersionId: number | null,
): Promise<{ modelVersionId: number; label: number } | null> {
  const versionId =
    modelVersionId ?? (await statements.activeModel.execute({ catalogueId: item.catalogueId }).then(firstRow))?.id;
  if (versionId === undefined) return null;
  const prediction = await statements.prediction.execute({ itemId: item.id, modelVersionId: versionId }).then(firstRow);
  if (!prediction && modelVersionId !== null)
    throw new AppError(
      'bad_input',
      `modelVersionId: model version ${modelVersionId} has no prediction for item ${item.id}.`,
    );
  return prediction ? { modelVersionId: versionId, label: prediction.label } : null;
}

/** The decision already recorded under this client id, when it is this one (a retry); a conflict when another. */
async function replayOf(statements: SubmitStatements, actor: Actor, decision: Decision): Promise<SubmitResult | null> {
  const previous = await statements.byClientId.execute({ clientId: decision.clientId }).then(firstRow);
  if (!previous) return null;
  if (previous.reviewerId === actor.userId && previous.itemId === decision.itemId && previous.action !== 'undo')
    return { review: previous, replayed: true };
  throw new AppError('conflict', 'This client id was already used for a different decision; send a new one.');
}

/**
 * Records one decision inside the caller's transaction; any throw rolls back the
 * whole transaction, so a grid submit is all-or-nothing.
 *
 * A correction naming the model's own answer is recorded as a confirm: `correct` always means
 * "the model was wrong", which the accuracy figures and the training sampler rely on.
 */
async function recordDecision(
  statements: SubmitStatements,
  input: { actor: Actor; decision: Decision; catalogueId?: number; now: number },
): Promise<SubmitResult> {
  const { actor, decision, now } = input;
  const replay = await replayOf(statements, actor, decision);
  if (replay) return replay;
  const item = await statements.item.execute({ itemId: decision.itemId }).then(firstRow);
  if (!item) throw new AppError('not_found', `There is no item ${decision.itemId}.`);
  if (input.catalogueId !== undefined && item.catalogueId !== input.catalogueId)
    throw new AppError('bad_input', `Item ${item.id} is not in catalogue ${input.catalogueId}.`);
  const classCount =
    (await statements.classNames.execute({ catalogueId: item.catalogueId }).then(firstRow))?.classNames.length ?? 0;
  const model = await modelAnswer(statements, item, decision.modelVersionId);

  let action = decision.action;
  let chosenLabel: number | null = null;
  if (action === 'confirm') {
    if (!model)
      throw new AppError('bad_input', `Item ${item.id} has no model answer to confirm; choose a class instead.`);
    if (decision.label !== null && decision.label !== model.label)
      throw new AppError(
        'bad_input',
        `label: a confirm takes the model's answer (${model.label}); send action "correct" to choose another class.`,
      );
    chosenLabel = model.label;
  } else if (action === 'correct') {
    chosenLabel = decision.label;
    if (chosenLabel === null || chosenLabel >= classCount)
      throw new AppError('bad_input', `label: this catalogue has classes 0-${classCount - 1}.`);
    if (model && chosenLabel === model.label) action = 'confirm';
  }

  const released = changedRows(
    await statements.releaseLease.execute({ itemId: item.id, reviewerId: actor.userId, nowMs: now }),
  );
  if (released === 0) {
    // On PostgreSQL a retry of this very decision may have run alongside: the delete waited
    // for it and found the lease gone. Its review is committed now: answer with it.
    const replayed = await replayOf(statements, actor, decision);
    if (replayed) return replayed;
    throw new AppError('conflict', LEASE_EXPIRED_MESSAGE);
  }

  const review = onlyRow(
    await statements.insertReview.execute({
      itemId: item.id,
      reviewerId: actor.userId,
      modelVersionId: model?.modelVersionId ?? null,
      modelLabel: model?.label ?? null,
      chosenLabel,
      action,
      durationMs: decision.durationMs,
      clientId: decision.clientId,
      createdAt: new Date(now),
    }),
  );
  // A gold item keeps its known label and stays an evaluation item: the review measures the
  // reviewer (lib/gold.ts) and is no human label for training.
  if (chosenLabel !== null && item.evalRole !== 'gold') {
    const labelled = changedRows(await statements.label.execute({ label: chosenLabel, itemId: item.id }));
    if (labelled === 0)
      throw new AppError('conflict', `Item ${item.id} no longer needs review; your decision was not recorded.`);
  }
  // skip and unsure leave label and status alone: the item, now unleased, is back in the queue.
  return { review, replayed: false };
}

/**
 * Records one decision: idempotent on `clientId` (a retry returns the first result and writes
 * nothing), and only while the actor's lease on the item is live (else a 409 conflict).
 * Parses its input: for callers holding an unchecked value (scripts, tests).
 */
export async function submitReview(
  db: Db,
  input: SubmitReviewInput & { actor: Actor | null; now?: number },
): Promise<SubmitResult> {
  return await recordReview(db, { actor: input.actor, review: parseInput(SubmitReviewInput, input), now: input.now });
}

/** submitReview for a caller that already parsed the decision with SubmitReviewInput (the API route). */
export async function recordReview(
  db: Db,
  input: { actor: Actor | null; review: SubmitReviewInput; now?: number },
): Promise<SubmitResult> {
  const actor = requirePermission(input.actor, 'items.review');
  const { review } = input;
  const now = input.now ?? Date.now();
  const decision: Decision = { ...review, label: review.label ?? null, modelVersionId: review.modelVersionId ?? null };
  // 'locking': the lease's delete is the compare-and-set that admits one decision per hold, and
  // the label's update keeps its own condition; on PostgreSQL reviewers' submits then wait on
  // each other's row locks (the queue counts) instead of failing as serialization conflicts.
  return await withTransaction(db, (tx) => recordDecision(submitStatements(tx), { actor, decision, now }), {
    behavior: 'locking',
  });
}

/** Records a whole grid in one transaction: one lost lease and nothing is recorded (409). */
export async function submitGridReview(
  db: Db,
  input: SubmitGridReviewInput & { actor: Actor | null; now?: number },
): Promise<SubmitResult[]> {
  const actor = requirePermission(input.actor, 'items.review');
  const grid = parseInput(SubmitGridReviewInput, input);
  return await recordGrid(db, { actor, ...grid, now: input.now ?? Date.now() });
}

/**
 * The grid write, for a caller that has parsed the grid with SubmitGridReviewInput and
 * checked `items.review` (submitGridReview, submitGridKeepingLive's rounds): no check of its
 * own, the lease and client-id conditions in recordDecision's writes still hold.
 */
export async function recordGrid(
  db: Db,
  input: SubmitGridReviewInput & { actor: Actor; now: number },
): Promise<SubmitResult[]> {
  const { actor, catalogueId, decisions, now } = input;
  return await withTransaction(
    db,
    async (tx) => {
      const statements = submitStatements(tx);
      const results: SubmitResult[] = [];
      for (const d of decisions)
        results.push(
          await recordDecision(statements, {
            actor,
            catalogueId,
            now,
            decision: {
              itemId: d.itemId,
              action: d.label === null ? 'confirm' : 'correct',
              label: d.label,
              clientId: d.clientId,
              durationMs: d.durationMs,
              modelVersionId: d.modelVersionId ?? null,
            },
          }),
        );
      return results;
    },
    { behavior: 'locking' },
  );
}
