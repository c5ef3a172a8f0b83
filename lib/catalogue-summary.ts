import { eq, sql } from 'drizzle-orm';
import { getDb, type Db } from '@/db/client';
import { catalogues, items } from '@/db/schema';
import { findActiveModel } from '@/lib/models';

export interface CatalogueSummary {
  slug: string;
  name: string;
  total: number;
  byStatus: Record<string, number>;
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
      return { slug: c.slug, name: c.name, total: Object.values(byStatus).reduce((a, b) => a + b, 0), byStatus, activeModel: findActiveModel(db, c.id)?.name ?? null };
    });
}

export function countItemsByStatus(db: Db, catalogueId: number): Record<string, number> {
  const rows = db.select({ status: items.status, n: sql<number>`count(*)` }).from(items).where(eq(items.catalogueId, catalogueId)).groupBy(items.status).all();
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
