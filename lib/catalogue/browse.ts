import { and, count, eq, gte, inArray, lte, notExists, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteSelect } from 'drizzle-orm/sqlite-core';
import { z } from 'zod';
import { type Db, firstRow } from '@/db/client';
import { orderedLikeSqlite } from '@/db/dialect';
import {
  EVAL_ROLES,
  ITEM_STATUSES,
  LABEL_SOURCES,
  items,
  predictions,
  type EvalRole,
  type ItemStatus,
  type LabelSource,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogue } from '@/lib/catalogues';
import { parseInput } from '@/lib/validate';
import { findActiveModel } from '@/lib/models/active';
import { ITEM_FILTER_NAMES, type ItemFilterName } from './filter-names';
import type { CatalogueScope } from './scope-sentence';
import { canSeeEvaluationItems, countCatalogueScope, evaluationItemIds } from './visibility';

export const ITEM_SORT_KEYS = ['id', 'confidence', 'predicted', 'label', 'labelSource', 'status'] as const;
export type ItemSortKey = (typeof ITEM_SORT_KEYS)[number];
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

/** Query-string values arrive as strings and an empty field means "no filter". */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' || value === null ? undefined : value), schema.optional());
}
const ClassIndex = z.coerce.number().int('a class is a whole number').min(0, 'a class index is 0 or more');
const Confidence = z.coerce
  .number()
  .min(0, 'a confidence is between 0 and 1')
  .max(1, 'a confidence is between 0 and 1');

/**
 * The browser's filters: shared by the items page (ListItemsInput) and the export, so that
 * "export what the current filter shows" reads the same query string the same way.
 */
export const ITEM_FILTER_FIELDS = {
  status: optional(z.enum(ITEM_STATUSES, { error: `status is one of ${ITEM_STATUSES.join(', ')}` })),
  /** The active model's predicted class. */
  predicted: optional(ClassIndex),
  /** The current label. */
  label: optional(ClassIndex),
  labelSource: optional(z.enum(LABEL_SOURCES, { error: `labelSource is one of ${LABEL_SOURCES.join(', ')}` })),
  evalRole: optional(z.enum(EVAL_ROLES, { error: `evalRole is one of ${EVAL_ROLES.join(', ')}` })),
  /** Inclusive bounds on the active model's calibrated confidence. */
  minConfidence: optional(Confidence),
  maxConfidence: optional(Confidence),
} satisfies Record<ItemFilterName, z.ZodType>;
export { ITEM_FILTER_NAMES };

/** For `.refine` on a schema holding the filter fields. */
export const CONFIDENCE_BOUNDS_IN_ORDER: [
  (v: { minConfidence?: number; maxConfidence?: number }) => boolean,
  { path: string[]; message: string },
] = [
  (v) => v.minConfidence === undefined || v.maxConfidence === undefined || v.minConfidence <= v.maxConfidence,
  { path: ['minConfidence'], message: 'minConfidence cannot be above maxConfidence' },
];

export type ItemFilters = z.output<z.ZodObject<typeof ITEM_FILTER_FIELDS>>;

/**
 * One page of a catalogue's items: the filters, sort and page the browser's URL carries.
 * Shared by the route (strings, coerced) and direct callers (numbers).
 */
export const ListItemsInput = z
  .object({
    catalogue: z.string().min(1),
    page: optional(z.coerce.number().int().min(1, 'pages start at 1')).default(1),
    pageSize: optional(
      z.coerce.number().int().min(1).max(MAX_PAGE_SIZE, `a page holds at most ${MAX_PAGE_SIZE} items`),
    ).default(DEFAULT_PAGE_SIZE),
    sort: optional(z.enum(ITEM_SORT_KEYS, { error: `sort is one of ${ITEM_SORT_KEYS.join(', ')}` })).default('id'),
    dir: optional(z.enum(['asc', 'desc'], { error: 'dir is asc or desc' })).default('asc'),
    ...ITEM_FILTER_FIELDS,
  })
  .refine(...CONFIDENCE_BOUNDS_IN_ORDER);
export type ListItemsInput = z.input<typeof ListItemsInput>;
export type ItemQuery = z.output<typeof ListItemsInput>;

export interface ItemRow {
  id: number;
  status: ItemStatus;
  currentLabel: number | null;
  currentLabelName: string | null;
  labelSource: LabelSource | null;
  /** Of the catalogue's active model; null when it has not scored the item. */
  predictedClass: number | null;
  predictedClassName: string | null;
  confidence: number | null;
  evalRole: EvalRole | null;
}

export interface ItemPage {
  catalogue: { slug: string; name: string; classNames: string[] };
  activeModel: { id: number; name: string } | null;
  query: ItemQuery;
  /** Items matching the filters, among those the reader may see. */
  total: number;
  /** Items the reader may see in the whole catalogue (equal to `total` when nothing is filtered). */
  catalogueTotal: number;
  /** What the counts include: evaluation items are left out for readers who may not see them. */
  scope: CatalogueScope;
  rows: ItemRow[];
}

/**
 * A page of a catalogue's items with the active model's prediction, filtered and sorted on
 * the server (a catalogue may hold 100,000 items). Two steps: the page's ids from a query
 * that the indexes can answer without reading item rows (see `findPageIds`), then those rows.
 */
export async function listItems(db: Db, input: ListItemsInput & { actor: Actor | null }): Promise<ItemPage> {
  const actor = requirePermission(input.actor, 'catalogue.read');
  const query = parseInput(ListItemsInput, input);
  const catalogue = await requireCatalogue(db, query.catalogue);
  const model = await findActiveModel(db, catalogue.id);
  // Holdout and gold labels measure the model and the reviewers: a reviewer finds neither.
  const hideEvaluation = !canSeeEvaluationItems(actor);
  const { ids, total } = await findPageIds(db, {
    query,
    catalogueId: catalogue.id,
    modelId: model?.id ?? null,
    hideEvaluation,
  });
  const filtered = ITEM_FILTER_NAMES.some((name) => query[name] !== undefined);
  const className = (index: number | null) =>
    index === null ? null : (catalogue.classNames[index] ?? `class ${index}`);
  return {
    catalogue: { slug: catalogue.slug, name: catalogue.name, classNames: catalogue.classNames },
    activeModel: model ? { id: model.id, name: model.name } : null,
    query,
    total,
    catalogueTotal: filtered ? await countVisibleItems(db, { catalogueId: catalogue.id, hideEvaluation }) : total,
    scope: await countCatalogueScope(db, { catalogueId: catalogue.id, actor }),
    rows: (await readRows(db, { ids, modelId: model?.id ?? null })).map((row) => ({
      ...row,
      currentLabelName: className(row.currentLabel),
      predictedClassName: className(row.predictedClass),
    })),
  };
}

async function countVisibleItems(db: Db, input: { catalogueId: number; hideEvaluation: boolean }): Promise<number> {
  const conditions = itemConditions({}, input);
  return (
    (
      await db
        .select({ n: count() })
        .from(items)
        .where(and(...conditions))
        .limit(1)
        .then(firstRow)
    )?.n ?? 0
  );
}

async function readRows(db: Db, input: { ids: number[]; modelId: number | null }) {
  if (input.ids.length === 0) return [];
  const rows = await db
    .select({
      id: items.id,
      status: items.status,
      currentLabel: items.currentLabel,
      labelSource: items.labelSource,
      evalRole: items.evalRole,
      predictedClass: predictions.predictedClass,
      confidence: predictions.confidence,
    })
    .from(items)
    // Without an active model no prediction matches (ids start at 1): the columns stay null.
    .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelId ?? 0)))
    .where(inArray(items.id, input.ids));
  const byId = new Map(rows.map((row) => [row.id, row]));
  return input.ids.flatMap((id) => byId.get(id) ?? []);
}

const ITEM_SORT_COLUMNS = {
  id: items.id,
  label: items.currentLabel,
  labelSource: items.labelSource,
  status: items.status,
} as const;

function isItemSort(sort: ItemSortKey): sort is keyof typeof ITEM_SORT_COLUMNS {
  return sort in ITEM_SORT_COLUMNS;
}

interface PageContext {
  query: ItemQuery;
  catalogueId: number;
  modelId: number | null;
  /** Leave the catalogue's evaluation items out (for readers without `evaluation.read`). */
  hideEvaluation?: boolean;
}

/**
 * The page's item ids and the number of matching items. Three shapes, each served by an index:
 * - no prediction in the filter or the sort: items alone (indexes on catalogue + column + id);
 * - a filter on the prediction: the active model's predictions, joined to items only when an
 *   item column is filtered or sorted on ((model, confidence, item) and (model, class,
 *   confidence, item) indexes);
 * - a sort on the prediction without such a filter: the scored items in prediction order, then
 *   the items the model has not scored, by id (nulls last in both directions).
 * Invariant relied on: a model version's predictions are all of its own catalogue's items, at
 * most one per item (scoring writes them so; a unique index enforces the second part).
 */
export async function findPageIds(db: Db, ctx: PageContext): Promise<{ ids: number[]; total: number }> {
  const { query, modelId } = ctx;
  const offset = (query.page - 1) * query.pageSize;
  const predictionFilters = predictionConditions(query);
  const itemFilters = itemConditions(query, ctx);
  const countItems = async () =>
    (
      await db
        .select({ n: count() })
        .from(items)
        .where(and(...itemFilters))
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;

  if (predictionFilters.length === 0 && (isItemSort(query.sort) || modelId === null)) {
    const column = isItemSort(query.sort) ? ITEM_SORT_COLUMNS[query.sort] : items.id;
    const ids = (
      await db
        .select({ id: items.id })
        .from(items)
        .where(and(...itemFilters))
        .orderBy(...ordered(query, column === items.id ? [items.id] : [column, items.id]))
        .limit(query.pageSize)
        .offset(offset)
    ).map((row) => row.id);
    return { ids, total: await countItems() };
  }
  if (modelId === null) return { ids: [], total: 0 };

  const scored = scoredQueries(db, { ...ctx, modelId, predictionFilters, itemFilters });
  if (predictionFilters.length > 0) {
    return { ids: await scored.page(query.pageSize, offset), total: await scored.count() };
  }
  // Sorted on the prediction, unfiltered on it: scored items first, then the unscored tail.
  const scoredTotal = await scored.count();
  const total = await countItems();
  const ids = offset < scoredTotal ? await scored.page(query.pageSize, offset) : [];
  if (ids.length < query.pageSize && total > scoredTotal) {
    const unscored = and(
      ...itemFilters,
      notExists(
        db
          .select({ one: sql`1` })
          .from(predictions)
          .where(and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, modelId))),
      ),
    );
    const tail = await db
      .select({ id: items.id })
      .from(items)
      .where(unscored)
      .orderBy(...ordered(query, [items.id]))
      .limit(query.pageSize - ids.length)
      .offset(Math.max(0, offset - scoredTotal));
    ids.push(...tail.map((row) => row.id));
  }
  return { ids, total };
}

/** The filters on item columns, the catalogue first and the evaluation items' exclusion last. */
export function itemConditions(
  query: Partial<ItemFilters>,
  ctx: { catalogueId: number; hideEvaluation?: boolean },
): SQL[] {
  const conditions: SQL[] = [eq(items.catalogueId, ctx.catalogueId)];
  if (query.status !== undefined) conditions.push(eq(items.status, query.status));
  if (query.label !== undefined) conditions.push(eq(items.currentLabel, query.label));
  if (query.labelSource !== undefined) conditions.push(eq(items.labelSource, query.labelSource));
  if (query.evalRole !== undefined) conditions.push(eq(items.evalRole, query.evalRole));
  // Last, so that scoredQueries can tell it from the filters that need the items table.
  if (ctx.hideEvaluation) conditions.push(sql`${items.id} not in ${evaluationItemIds(ctx.catalogueId)}`);
  return conditions;
}

/** The filters on the active model's prediction: an item without one matches none of them. */
export function predictionConditions(query: Partial<ItemFilters>): SQL[] {
  const conditions: SQL[] = [];
  if (query.predicted !== undefined) conditions.push(eq(predictions.predictedClass, query.predicted));
  if (query.minConfidence !== undefined) conditions.push(gte(predictions.confidence, query.minConfidence));
  if (query.maxConfidence !== undefined) conditions.push(lte(predictions.confidence, query.maxConfidence));
  return conditions;
}

/** Nulls (an unlabelled item, no label source) sort first ascending and last descending, on either database. */
function ordered(query: ItemQuery, columns: (SQLiteColumn | SQL)[]): SQL[] {
  return columns.map((column) => orderedLikeSqlite(column, query.dir));
}

/** The active model's predictions as the driving table; items joined only when needed. */
function scoredQueries(db: Db, ctx: PageContext & { modelId: number; predictionFilters: SQL[]; itemFilters: SQL[] }) {
  const { query } = ctx;
  // Beyond the catalogue (implied by the model), an item column to filter or sort on.
  const joinItems =
    ctx.itemFilters.length > (ctx.hideEvaluation ? 2 : 1) || (isItemSort(query.sort) && query.sort !== 'id');
  const hidden =
    ctx.hideEvaluation && !joinItems ? [sql`${predictions.itemId} not in ${evaluationItemIds(ctx.catalogueId)}`] : [];
  const where = and(
    eq(predictions.modelVersionId, ctx.modelId),
    ...ctx.predictionFilters,
    ...(joinItems ? ctx.itemFilters : hidden),
  );
  // Ordered so the (model, confidence, item) and (model, class, confidence, item) indexes
  // deliver rows in order; the item id breaks ties, so page boundaries are stable.
  const order =
    query.sort === 'confidence'
      ? [predictions.confidence, predictions.itemId]
      : query.sort === 'predicted'
        ? [predictions.predictedClass, predictions.confidence, predictions.itemId]
        : isItemSort(query.sort) && query.sort !== 'id'
          ? [ITEM_SORT_COLUMNS[query.sort], predictions.itemId]
          : [predictions.itemId];
  const joined = <T extends SQLiteSelect>(select: T) =>
    joinItems ? select.innerJoin(items, eq(items.id, predictions.itemId)) : select;
  return {
    page: async (limit: number, offset: number) =>
      (
        await joined(db.select({ id: predictions.itemId }).from(predictions).$dynamic())
          .where(where)
          .orderBy(...ordered(query, order))
          .limit(limit)
          .offset(offset)
      ).map((row) => row.id),
    count: async () =>
      (
        await joined(db.select({ n: count() }).from(predictions).$dynamic())
          .where(where)
          .limit(1)
          .then(firstRow)
      )?.n ?? 0,
  };
}
