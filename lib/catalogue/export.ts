import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { items, predictions, reviews, users, type EvalRole, type ItemStatus, type LabelSource } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogue } from '@/lib/catalogues';
import { parseInput } from '@/lib/validate';
import {
  CONFIDENCE_BOUNDS_IN_ORDER,
  ITEM_FILTER_FIELDS,
  ITEM_FILTER_NAMES,
  itemConditions,
  predictionConditions,
  type ItemFilters,
} from './browse';
import { canSeeEvaluationItems } from './visibility';
import { findActiveModel } from '@/lib/models/active';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The browser's query string works here too: its filters apply, its page and sort do not. */
export const ExportLabelsInput = z
  .object({
    catalogue: z.string().min(1),
    // From a query string: absent or empty means CSV.
    format: z
      .preprocess(
        (value) => (value === '' || value === null ? undefined : value),
        z.enum(EXPORT_FORMATS, { error: 'format is csv or json' }).optional(),
      )
      .default('csv'),
    ...ITEM_FILTER_FIELDS,
  })
  .refine(...CONFIDENCE_BOUNDS_IN_ORDER);
export type ExportLabelsInput = z.input<typeof ExportLabelsInput>;
/** The query-string parameters the export route reads; anything else in the URL is ignored. */
export const EXPORT_QUERY_NAMES: readonly string[] = ['format', ...ITEM_FILTER_NAMES];

/** One exported item: its current label and where that label came from. */
export interface ExportRow {
  itemId: number;
  source: string;
  sourceRow: number;
  externalId: string | null;
  currentLabel: number | null;
  currentLabelName: string | null;
  labelSource: LabelSource | null;
  status: ItemStatus;
  evalRole: EvalRole | null;
  /** The active model's answer, when it has scored the item. */
  predictedClass: number | null;
  predictedClassName: string | null;
  confidence: number | null;
  modelVersion: string | null;
  /** For a human label: who gave it (the latest confirm/correct not undone) and when. */
  reviewedBy: string | null;
  reviewedAt: string | null;
}

export const EXPORT_COLUMNS: { key: keyof ExportRow; header: string }[] = [
  { key: 'itemId', header: 'item_id' },
  { key: 'source', header: 'source' },
  { key: 'sourceRow', header: 'source_row' },
  { key: 'externalId', header: 'external_id' },
  { key: 'currentLabel', header: 'label' },
  { key: 'currentLabelName', header: 'label_name' },
  { key: 'labelSource', header: 'label_source' },
  { key: 'status', header: 'status' },
  { key: 'evalRole', header: 'eval_role' },
  { key: 'predictedClass', header: 'predicted' },
  { key: 'predictedClassName', header: 'predicted_name' },
  { key: 'confidence', header: 'confidence' },
  { key: 'modelVersion', header: 'model_version' },
  { key: 'reviewedBy', header: 'reviewed_by' },
  { key: 'reviewedAt', header: 'reviewed_at' },
];

/** Rows read per statement: small enough that other requests run between two chunks. */
export const EXPORT_CHUNK_ROWS = 2000;

export interface LabelExport {
  filename: string;
  contentType: string;
  /** Read chunk by chunk as the client consumes it; nothing is built in memory up front. */
  body: ReadableStream<Uint8Array>;
}

/**
 * A catalogue's current labels with their provenance, as CSV or JSON. The stream reads the
 * items in id order, one chunk per pull (keyset pagination on the id): no statement or
 * iterator stays open between pulls, so the shared connection keeps serving writes, and each
 * row is consistent with itself (rows read later may reflect reviews made during the export).
 */
export async function exportLabels(
  db: Db,
  input: ExportLabelsInput & { actor: Actor | null; now?: Date; chunkRows?: number },
): Promise<LabelExport> {
  const actor = requirePermission(input.actor, 'export.read');
  const { catalogue: slug, format, ...filters } = parseInput(ExportLabelsInput, input);
  const catalogue = await requireCatalogue(db, slug);
  const model = await findActiveModel(db, catalogue.id);
  const now = input.now ?? new Date();
  const chunkRows = input.chunkRows ?? EXPORT_CHUNK_ROWS;
  const name = (index: number | null) => (index === null ? null : (catalogue.classNames[index] ?? `class ${index}`));

  let afterId = 0;
  let first = true;
  let done = false;
  const encoder = new TextEncoder();
  const header =
    format === 'csv'
      ? `${EXPORT_COLUMNS.map((c) => c.header).join(',')}\r\n`
      : `{"catalogue":${JSON.stringify({ slug: catalogue.slug, name: catalogue.name, classNames: catalogue.classNames })},"activeModel":${JSON.stringify(model?.name ?? null)},"exportedAt":${JSON.stringify(now.toISOString())},"items":[`;

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      const chunk = await readExportChunk(db, {
        catalogueId: catalogue.id,
        modelId: model?.id ?? null,
        afterId,
        limit: chunkRows,
        filters,
        // export.read implies evaluation.read today; the rule is the browser's all the same.
        hideEvaluation: !canSeeEvaluationItems(actor),
      });
      const rows = chunk.map((row): ExportRow => ({
        itemId: row.itemId,
        source: row.source,
        sourceRow: row.sourceRow,
        externalId: row.externalId,
        currentLabel: row.currentLabel,
        currentLabelName: name(row.currentLabel),
        labelSource: row.labelSource,
        status: row.status,
        evalRole: row.evalRole,
        predictedClass: row.predictedClass,
        predictedClassName: name(row.predictedClass),
        confidence: row.confidence,
        modelVersion: row.predictedClass === null ? null : (model?.name ?? null),
        reviewedBy: row.reviewedBy,
        reviewedAt: row.reviewedAt === null ? null : row.reviewedAt.toISOString(),
      }));
      let text = first ? header : '';
      if (format === 'csv') {
        text += rows.map(toCsvLine).join('');
      } else {
        text += rows.map((row, i) => `${first && i === 0 ? '' : ','}\n${JSON.stringify(row)}`).join('');
      }
      first = false;
      const last = chunk.at(-1);
      if (chunk.length < chunkRows || !last) {
        done = true;
        if (format === 'json') text += '\n]}\n';
      } else {
        afterId = last.itemId;
      }
      controller.enqueue(encoder.encode(text));
      if (done) controller.close();
    },
  });

  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  return {
    filename: `${catalogue.slug}-labels${Object.values(filters).some((v) => v !== undefined) ? '-filtered' : ''}-${stamp}.${format}`,
    contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
    body,
  };
}

/**
 * One chunk of the filtered items after `afterId`, with the active model's prediction and, for
 * human labels, the latest confirm/correct that no undo reverted (its reviewer and time). A
 * prediction filter excludes unscored items, as in the browser: the left join leaves them null.
 */
async function readExportChunk(
  db: Db,
  input: {
    catalogueId: number;
    modelId: number | null;
    afterId: number;
    limit: number;
    filters: ItemFilters;
    hideEvaluation: boolean;
  },
) {
  // Plain SQL, not drizzle aliases of reviews: the PostgreSQL driver does not render a SQLite table's alias.
  const lastHumanReview = sql`select h.id from reviews h
    where h.item_id = items.id and h.action in ('confirm', 'correct')
      and not exists (select 1 from reviews u where u.reverts_review_id = h.id)
    order by h.id desc limit 1`;
  return await db
    .select({
      itemId: items.id,
      source: items.source,
      sourceRow: items.sourceRow,
      externalId: items.externalId,
      currentLabel: items.currentLabel,
      labelSource: items.labelSource,
      status: items.status,
      evalRole: items.evalRole,
      predictedClass: predictions.predictedClass,
      confidence: predictions.confidence,
      reviewedBy: users.email,
      reviewedAt: reviews.createdAt,
    })
    .from(items)
    // Without an active model no prediction matches (ids start at 1).
    .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelId ?? 0)))
    .leftJoin(reviews, and(eq(items.labelSource, 'human'), eq(reviews.id, sql`(${lastHumanReview})`)))
    .leftJoin(users, eq(users.id, reviews.reviewerId))
    .where(
      and(...itemConditions(input.filters, input), ...predictionConditions(input.filters), gt(items.id, input.afterId)),
    )
    .orderBy(asc(items.id))
    .limit(input.limit);
}

/** A cell that starts like a formula, tab and CR included (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/**
 * A formula character after a separator a spreadsheet may split the cell on (its import
 * dialog offers comma, semicolon, tab, pipe and line breaks), spaces allowed between: "a;=1+1"
 * becomes two cells, the second a formula, once split on semicolons.
 */
const FORMULA_AFTER_SEPARATOR = /([,;|\t\r\n] *)(?=[=+\-@])/g;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
 * doubled. Text that starts like a formula, or would once split on any separator, gets an
 * apostrophe before the formula character so a spreadsheet shows it instead of running it;
 * the JSON export keeps every value exact.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  let text = value.replace(FORMULA_AFTER_SEPARATOR, "$1'");
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function toCsvLine(row: ExportRow): string {
  return `${EXPORT_COLUMNS.map((c) => csvField(row[c.key])).join(',')}\r\n`;
}
