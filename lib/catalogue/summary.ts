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

export function countCatalogueSummaries(): CatalogueSummary[] {
  const db = getDb();
  return db
    .select()
    .from(catalogues)
    .all()
    .map((c) => {
      const byStatus = countItemsByStatus(db, c.id);
      return {
        slug: c.slug,
        name: c.name,
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        evaluation: countEvaluationItems(db, c.id),
        activeModel: findActiveModel(db, c.id)?.name ?? null,
      };
    });
}

/**
 * Catalogue items per status. Evaluation items are left out: a demo holdout of 5,000 stored
 * as "reviewed" would otherwise read as 5,000 reviews nobody made.
 */
export function countItemsByStatus(db: Db, catalogueId: number): Record<string, number> {
  const rows = db
    .select({ status: items.status, n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), isNull(items.evalRole)))
    .groupBy(items.status)
    .all();
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Evaluation items per role, e.g. `{ holdout: 5000 }`. */
export function countEvaluationItems(db: Db, catalogueId: number): Partial<Record<EvalRole, number>> {
  const rows = db
    .select({ role: items.evalRole, n: sql<number>`count(*)` })
    .from(items)
    .where(and(eq(items.catalogueId, catalogueId), isNotNull(items.evalRole)))
    .groupBy(items.evalRole)
    .all();
  return Object.fromEntries(rows.map((r) => [r.role, r.n]));
}
