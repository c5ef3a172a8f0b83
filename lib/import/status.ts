import { and, desc, eq, ne, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, firstRow } from '@/db/client';
import {
  catalogues,
  imports,
  items,
  ITEM_STATUSES,
  type ImportKind,
  type ImportState,
  type ItemStatus,
} from '@/db/schema';
import { AppError } from '@/lib/errors';
import { findActiveModel } from '@/lib/models/active';
import { parseInput } from '@/lib/validate';

export interface ImportStatus {
  importId: number;
  catalogue: { slug: string; name: string };
  kind: ImportKind;
  source: string;
  total: number;
  inserted: number;
  createdAt: Date;
  /** The items this import added, by status: `unscored` reaching 0 means the worker is done with them. */
  items: Record<ItemStatus, number>;
  /** Every unscored item of the catalogue, this import's and others'. */
  catalogueUnscored: number;
  /** Null when the catalogue has no model: its items stay unscored until one is trained. */
  activeModel: string | null;
}

async function countByStatus(db: Db, where: SQL | undefined): Promise<Record<ItemStatus, number>> {
  const counts = Object.fromEntries(ITEM_STATUSES.map((status) => [status, 0])) as Record<ItemStatus, number>;
  for (const row of await db
    .select({ status: items.status, n: sql<number>`count(*)` })
    .from(items)
    .where(where)
    .groupBy(items.status)) {
    counts[row.status] = row.n;
  }
  return counts;
}

/** Where an import's items are now; the import page polls this while the worker scores them. */
export async function getImportStatus(db: Db, importId: number): Promise<ImportStatus> {
  const id = parseInput(z.number().int().positive(), importId);
  const row = await db
    .select({ imp: imports, slug: catalogues.slug, name: catalogues.name })
    .from(imports)
    .innerJoin(catalogues, eq(catalogues.id, imports.catalogueId))
    .where(eq(imports.id, id))
    .limit(1)
    .then(firstRow);
  if (!row) throw new AppError('not_found', `There is no import ${id}.`);
  const { imp } = row;
  const catalogueUnscored = (
    await countByStatus(db, and(eq(items.catalogueId, imp.catalogueId), eq(items.status, 'unscored')))
  ).unscored;
  return {
    importId: imp.id,
    catalogue: { slug: row.slug, name: row.name },
    kind: imp.kind,
    source: imp.source,
    total: imp.itemCount,
    inserted: imp.insertedCount,
    createdAt: imp.createdAt,
    items: await countByStatus(db, eq(items.importId, imp.id)),
    catalogueUnscored,
    activeModel: (await findActiveModel(db, imp.catalogueId))?.name ?? null,
  };
}

export interface RecentImport {
  id: number;
  catalogueSlug: string;
  kind: ImportKind;
  source: string;
  total: number;
  /** Rows checked so far: equals `total` once the import is past 'staging'. */
  staged: number;
  inserted: number;
  /** 'staging' and 'moving' while it runs (lib/import/staging.ts), then 'done'. */
  state: ImportState;
  createdAt: Date;
}

const ListOptions = z.object({
  limit: z.coerce.number().int().min(1, 'limit is 1 or more').max(200, 'limit is at most 200').default(10),
  /** Only imports still running: what the Import page polls while an upload is being imported. */
  unfinished: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'], { error: 'unfinished is true or false' })])
    .transform((value) => value === true || value === 'true' || value === '1')
    .default(false),
  catalogue: z.string().min(1).optional(),
});

/** The latest imports across catalogues (or of one), newest first. */
export async function listRecentImports(db: Db, options: z.input<typeof ListOptions> = {}): Promise<RecentImport[]> {
  const { limit, unfinished, catalogue } = parseInput(ListOptions, options);
  return await db
    .select({
      id: imports.id,
      catalogueSlug: catalogues.slug,
      kind: imports.kind,
      source: imports.source,
      total: imports.itemCount,
      staged: imports.stagedCount,
      inserted: imports.insertedCount,
      state: imports.state,
      createdAt: imports.createdAt,
    })
    .from(imports)
    .innerJoin(catalogues, eq(catalogues.id, imports.catalogueId))
    .where(
      and(unfinished ? ne(imports.state, 'done') : undefined, catalogue ? eq(catalogues.slug, catalogue) : undefined),
    )
    .orderBy(desc(imports.createdAt), desc(imports.id))
    .limit(limit);
}
