import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Reader } from '@/db/client';
import { items, reviews, users } from '@/db/schema';

export interface GoldAgreement {
  reviewerId: number;
  email: string;
  /** Decisions (confirm or correct, not undone) on gold items. */
  decided: number;
  /** Of those, the ones whose chosen label is the item's known label. */
  agreed: number;
  /** agreed / decided; null without decisions. */
  accuracy: number | null;
}

/**
 * Each reviewer's accuracy on gold items: their confirms and corrections on items with
 * `evalRole = 'gold'`, chosen label against the label the item was imported with. Undone
 * decisions and skip/unsure are left out. Reviewers without gold decisions are not listed.
 */
export async function goldAgreement(db: Reader, catalogueId: number): Promise<GoldAgreement[]> {
  return (
    await db
      .select({
        reviewerId: reviews.reviewerId,
        email: users.email,
        decided: sql<number>`count(*)`,
        agreed: sql<number>`coalesce(sum(case when ${reviews.chosenLabel} = ${items.importLabel} then 1 else 0 end), 0)`,
      })
      .from(reviews)
      .innerJoin(items, eq(items.id, reviews.itemId))
      .innerJoin(users, eq(users.id, reviews.reviewerId))
      .where(
        and(
          eq(items.catalogueId, catalogueId),
          eq(items.evalRole, 'gold'),
          inArray(reviews.action, ['confirm', 'correct']),
          sql`not exists (select 1 from ${reviews} u where u.reverts_review_id = ${reviews.id})`,
        ),
      )
      .groupBy(reviews.reviewerId, users.email)
      .orderBy(asc(users.email))
  ).map((row) => ({ ...row, accuracy: row.decided === 0 ? null : row.agreed / row.decided }));
}
