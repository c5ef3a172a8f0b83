import { and, eq, sql } from 'drizzle-orm';
import { type Db, firstRow } from '@/db/client';
import { catalogues, items } from '@/db/schema';
import { findActiveModel } from '@/lib/models/active';
import { scoreUnscoredItems, type ScoreResult } from '@/lib/routing/scoring';

/**
 * What a catalogue without an active model needs next. Such a catalogue is a normal state (the
 * Import page creates one): its items wait unscored, out of the review queue, until it has one.
 */
export function noModelNextStep(slug: string): string {
  return `its items wait unscored (and out of the review queue) until a model is registered for it (npm run register-model -- --catalogue ${slug} --model <dir>)`;
}

export type CatalogueScoring =
  | { catalogue: string; skipped: false; result: ScoreResult }
  | { catalogue: string; skipped: true; unscored: number; reason: string };

async function countUnscored(db: Db, catalogueId: number): Promise<number> {
  return (
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(items)
        .where(and(eq(items.catalogueId, catalogueId), eq(items.status, 'unscored')))
        .limit(1)
        .then(firstRow)
    )?.n ?? 0
  );
}

/**
 * Scores the unscored items of every catalogue that has an active model (`npm start`,
 * `npm run score`); a catalogue without one is skipped and reported, never an error.
 */
export async function scoreEveryCatalogue(
  db: Db,
  options: {
    onProgress?: (catalogue: string, done: number, total: number) => void;
    onCatalogue?: (outcome: CatalogueScoring) => void;
  } = {},
): Promise<CatalogueScoring[]> {
  const outcomes: CatalogueScoring[] = [];
  for (const catalogue of await db.select({ id: catalogues.id, slug: catalogues.slug }).from(catalogues)) {
    let outcome: CatalogueScoring;
    if (!(await findActiveModel(db, catalogue.id))) {
      outcome = {
        catalogue: catalogue.slug,
        skipped: true,
        unscored: await countUnscored(db, catalogue.id),
        reason: `no active model yet: ${noModelNextStep(catalogue.slug)}`,
      };
    } else {
      const result = await scoreUnscoredItems(db, {
        catalogueId: catalogue.id,
        onProgress: (done, total) => options.onProgress?.(catalogue.slug, done, total),
      });
      outcome = { catalogue: catalogue.slug, skipped: false, result };
    }
    outcomes.push(outcome);
    options.onCatalogue?.(outcome);
  }
  return outcomes;
}
