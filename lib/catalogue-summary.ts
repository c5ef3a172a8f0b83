import { getDb } from '@/db/client';
import { catalogues } from '@/db/schema';
import { findActiveModel } from '@/lib/models';
import { countItemsByStatus } from '@/lib/scoring';

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
