import { and, asc, eq, isNull, lte, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { catalogues, items, leases, predictions, reviews, type Catalogue } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { findActiveModel } from '@/lib/models/active';
import { requireCatalogueById } from '@/lib/catalogues';

/** What the review pages show about a catalogue's queue before anything is claimed. */

export interface CatalogueChoice {
  slug: string;
  name: string;
}

export interface ReviewCatalogue {
  catalogue: Catalogue;
  /** Every catalogue, for the switcher, oldest first. */
  choices: CatalogueChoice[];
}

const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a catalogue slug is lower-case letters, digits and dashes (e.g. fashion-mnist)');

/**
 * The catalogue a review page opens: the one named in the URL, else the oldest. Throws
 * not_found for an unknown slug, or when there is no catalogue at all.
 */
export async function pickReviewCatalogue(
  db: Db,
  input: { actor: Actor | null; slug?: string | null },
): Promise<ReviewCatalogue> {
  requirePermission(input.actor, 'items.review');
  const slug = input.slug == null || input.slug === '' ? undefined : parseInput(Slug, input.slug);
  const all = await db.select().from(catalogues).orderBy(asc(catalogues.id));
  const catalogue = slug === undefined ? all[0] : all.find((c) => c.slug === slug);
  if (!catalogue)
    throw new AppError(
      'not_found',
      slug === undefined ? 'There is no catalogue yet: import one first.' : `There is no catalogue "${slug}".`,
    );
  return { catalogue, choices: all.map((c) => ({ slug: c.slug, name: c.name })) };
}

export interface ClassQueueCount {
  classIndex: number;
  className: string;
  /** Items the active model put in this class that still need review. */
  needsReview: number;
  /** Of those, what a grid claim could hand this reviewer now: free or already theirs, not skipped by them. */
  available: number;
}

/**
 * Items waiting for review per class the active model predicted: the grid view's class
 * picker. Every class of the catalogue is listed, zeros included; without an active model
 * every count is zero (the grid needs the model's answer to confirm).
 */
export async function countQueueByClass(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; now?: number },
): Promise<ClassQueueCount[]> {
  const actor = requirePermission(input.actor, 'items.review');
  const catalogueId = parseInput(z.number().int().positive(), input.catalogueId);
  const now = new Date(input.now ?? Date.now());
  const catalogue = await requireCatalogueById(db, catalogueId);
  const model = await findActiveModel(db, catalogueId);
  const counts = new Map<number, { needsReview: number; available: number }>();
  if (model) {
    // Mirrors claimBatch's pick: free, or held by this reviewer, and not passed over by them.
    const available = and(
      or(isNull(leases.itemId), lte(leases.expiresAt, now), eq(leases.reviewerId, actor.userId)),
      sql`${items.id} not in (select ${reviews.itemId} from ${reviews} where ${reviews.reviewerId} = ${actor.userId} and ${reviews.action} in ('skip', 'unsure'))`,
    );
    const rows = await db
      .select({
        classIndex: predictions.predictedClass,
        needsReview: sql<number>`count(*)`,
        available: sql<number>`coalesce(sum(case when ${available} then 1 else 0 end), 0)`,
      })
      .from(items)
      .innerJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, model.id)))
      .leftJoin(leases, eq(leases.itemId, items.id))
      .where(and(eq(items.catalogueId, catalogueId), eq(items.status, 'needs_review')))
      .groupBy(predictions.predictedClass);
    for (const row of rows) counts.set(row.classIndex, { needsReview: row.needsReview, available: row.available });
  }
  return catalogue.classNames.map((className, classIndex) => ({
    classIndex,
    className,
    needsReview: counts.get(classIndex)?.needsReview ?? 0,
    available: counts.get(classIndex)?.available ?? 0,
  }));
}
