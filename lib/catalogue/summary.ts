import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { getDb, type Db } from '@/db/client';
import { catalogues, items, type EvalRole } from '@/db/schema';
import { findActiveModel } from '@/lib/models/active';

export interface CatalogueSummary {
  slug: string;
  name: string;
  /** Catalogue items, evaluation items excluded. */
  total: number;
  byStatus: Record<string, number>;
  /** Evaluation items (holdout, gold) by role: trusted data, counted apart from the catalogue. */
  evaluation: Partial<Record<EvalRole, number>>;
  activeModel: string | null;
}

export async function countCatalogueSummaries(): Promise<CatalogueSummary[]> {
  const db = getDb();
  const rows = await db.select().from(catalogues);
  return Promise.all(
    rows.map(async (c) => {
      const byStatus = await countItemsByStatus(db, c.id);
      return {
        slug: c.slug,
        name: c.name,
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        evaluation: await countEvaluationItems(db, c.id),
        activeModel: (await findActiveModel(db, c.id))?.name ?? null,
      };
    }),
  );
}

/**
 * Catalogue items per status. Evaluation items are left out: a demo holdout of 5,000 stored
 * as "reviewed" would otherwise read as 5,000 reviews nobody made.
 */
export async function countItemsByStatus(db: Db, catalogueId: number): Promise<Record<string, number>> {
  const rows = await db
    .select({ status: items.status, n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), isNull(items.evalRole)))
    .groupBy(items.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Evaluation items per role, e.g. `{ holdout: 5000 }`. */
export async function countEvaluationItems(db: Db, catalogueId: number): Promise<Partial<Record<EvalRole, number>>> {
  const rows = await db
    .select({ role: items.evalRole, n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), isNotNull(items.evalRole)))
    .groupBy(items.evalRole);
  return Object.fromEntries(rows.map((r) => [r.role, r.n]));
}
