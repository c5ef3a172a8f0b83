import { desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, firstRow } from '@/db/client';
import {
  catalogues,
  items,
  modelVersions,
  predictions,
  reviews,
  users,
  type EvalRole,
  type ItemStatus,
  type LabelSource,
  type ModelStatus,
  type ReviewAction,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { canSeeEvaluationItems } from './visibility';

export const GetItemDetailInput = z.object({
  itemId: z.coerce
    .number({ error: 'an item id is a positive whole number' })
    .int('an item id is a whole number')
    .positive('an item id is a positive whole number'),
  /** When given (the page's URL names it), an item of another catalogue is not found. */
  catalogue: z.string().min(1).optional(),
});
export type GetItemDetailInput = z.input<typeof GetItemDetailInput>;

export interface ItemPrediction {
  modelVersionId: number;
  modelName: string;
  modelStatus: ModelStatus;
  arch: string;
  predictedClass: number;
  predictedClassName: string;
  confidence: number;
  margin: number;
  /** Calibrated, one per class in class order. */
  probs: number[];
  scoredAt: Date;
}

export interface ItemReview {
  id: number;
  reviewerEmail: string;
  action: ReviewAction;
  modelName: string | null;
  /** What the model said when the reviewer saw the item. */
  modelLabel: number | null;
  modelLabelName: string | null;
  /** What the reviewer chose; null for skip, unsure and undo. */
  chosenLabel: number | null;
  chosenLabelName: string | null;
  durationMs: number;
  createdAt: Date;
  /** For an undo row: the review it reverts. */
  revertsReviewId: number | null;
  /** True when a later undo row reverted this review. */
  undone: boolean;
}

export interface ItemDetail {
  catalogue: { slug: string; name: string; classNames: string[] };
  item: {
    id: number;
    source: string;
    sourceRow: number;
    externalId: string | null;
    importLabel: number | null;
    importLabelName: string | null;
    currentLabel: number | null;
    currentLabelName: string | null;
    labelSource: LabelSource | null;
    status: ItemStatus;
    evalRole: EvalRole | null;
    createdAt: Date;
  };
  /** One per model version that scored the item: the active one first, then newest first. */
  predictions: ItemPrediction[];
  /** Newest first; undo rows included (the log is append-only). */
  reviews: ItemReview[];
}

/** Everything the item page shows: provenance, each model version's answer, every review. */
export async function getItemDetail(db: Db, input: GetItemDetailInput & { actor: Actor | null }): Promise<ItemDetail> {
  const actor = requirePermission(input.actor, 'catalogue.read');
  const { itemId, catalogue: slug } = parseInput(GetItemDetailInput, input);
  const row = await db
    .select({
      item: items,
      catalogue: { slug: catalogues.slug, name: catalogues.name, classNames: catalogues.classNames },
    })
    .from(items)
    .innerJoin(catalogues, eq(catalogues.id, items.catalogueId))
    .where(eq(items.id, itemId))
    .limit(1)
    .then(firstRow);
  // Holdout and gold labels measure the model and the reviewers: a reviewer finds neither.
  const hidden = row?.item.evalRole != null && !canSeeEvaluationItems(actor);
  if (!row || hidden || (slug !== undefined && row.catalogue.slug !== slug))
    throw new AppError('not_found', `There is no item ${itemId}${slug ? ` in catalogue "${slug}"` : ''}.`);
  const { item, catalogue } = row;
  const name = (index: number | null) => (index === null ? null : (catalogue.classNames[index] ?? `class ${index}`));

  const scored = (
    await db
      .select({
        prediction: predictions,
        model: {
          id: modelVersions.id,
          name: modelVersions.name,
          status: modelVersions.status,
          arch: modelVersions.arch,
        },
      })
      .from(predictions)
      .innerJoin(modelVersions, eq(modelVersions.id, predictions.modelVersionId))
      .where(eq(predictions.itemId, item.id))
      .orderBy(desc(modelVersions.id))
  ).sort((a, b) => Number(b.model.status === 'active') - Number(a.model.status === 'active'));

  // The undo row naming a review, by a subquery: a drizzle alias of a SQLite table is not
  // rendered as one by the PostgreSQL driver.
  const undoneBy = sql<number | null>`(select u.id from reviews u where u.reverts_review_id = reviews.id)`;
  const history = await db
    .select({ review: reviews, reviewerEmail: users.email, modelName: modelVersions.name, undoneBy })
    .from(reviews)
    .innerJoin(users, eq(users.id, reviews.reviewerId))
    .leftJoin(modelVersions, eq(modelVersions.id, reviews.modelVersionId))
    .where(eq(reviews.itemId, item.id))
    .orderBy(desc(reviews.createdAt), desc(reviews.id));

  return {
    catalogue,
    item: {
      id: item.id,
      source: item.source,
      sourceRow: item.sourceRow,
      externalId: item.externalId,
      importLabel: item.importLabel,
      importLabelName: name(item.importLabel),
      currentLabel: item.currentLabel,
      currentLabelName: name(item.currentLabel),
      labelSource: item.labelSource,
      status: item.status,
      evalRole: item.evalRole,
      createdAt: item.createdAt,
    },
    predictions: scored.map(({ prediction, model }) => ({
      modelVersionId: model.id,
      modelName: model.name,
      modelStatus: model.status,
      arch: model.arch,
      predictedClass: prediction.predictedClass,
      predictedClassName: name(prediction.predictedClass) ?? '',
      confidence: prediction.confidence,
      margin: prediction.margin,
      probs: prediction.probs,
      scoredAt: prediction.createdAt,
    })),
    reviews: history.map(({ review, reviewerEmail, modelName, undoneBy }) => ({
      id: review.id,
      reviewerEmail,
      action: review.action,
      modelName,
      modelLabel: review.modelLabel,
      modelLabelName: name(review.modelLabel),
      chosenLabel: review.chosenLabel,
      chosenLabelName: name(review.chosenLabel),
      durationMs: review.durationMs,
      createdAt: review.createdAt,
      revertsReviewId: review.revertsReviewId,
      undone: undoneBy !== null,
    })),
  };
}
