import { and, count, eq, isNotNull, sql, type SQL } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { items } from '@/db/schema';
import { can, type Actor } from '@/lib/auth/permissions';
import type { CatalogueScope } from './scope-sentence';

/**
 * Evaluation items (holdout, gold) carry trusted labels. Holdout labels judge the model and gold
 * labels judge the reviewers, so a reader without `evaluation.read` sees neither kind: not in
 * the browser, not on an item page, not through the API. Every catalogue reader asks here.
 */
export function canSeeEvaluationItems(actor: Actor): boolean {
  return can(actor.role, 'evaluation.read');
}

/**
 * The catalogue's evaluation item ids: an uncorrelated subquery, evaluated once from the
 * partial eval-role index (catalogue, eval_role) where eval_role is not null.
 */
export function evaluationItemIds(catalogueId: number): SQL {
  return sql`(select "id" from "items" where "catalogue_id" = ${catalogueId} and "eval_role" is not null)`;
}

export async function countCatalogueScope(
  db: Db,
  input: { catalogueId: number; actor: Actor },
): Promise<CatalogueScope> {
  const rows = await db
    .select({ role: items.evalRole, n: count() })
    .from(items)
    .where(and(eq(items.catalogueId, input.catalogueId), isNotNull(items.evalRole)))
    .groupBy(items.evalRole);
  const of = (role: string) => rows.find((row) => row.role === role)?.n ?? 0;
  const shown = canSeeEvaluationItems(input.actor);
  return { evaluationShown: shown, holdout: of('holdout'), gold: shown ? of('gold') : null };
}
