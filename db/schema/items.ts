import { sql } from 'drizzle-orm';
import { blob, check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { catalogues, imports } from './catalogues';
import { checkIn, createdAtColumn } from './columns';
import { users } from './users';

export const LABEL_SOURCES = ['model', 'human', 'import'] as const;
export type LabelSource = (typeof LABEL_SOURCES)[number];

export const ITEM_STATUSES = ['unscored', 'auto_accepted', 'needs_review', 'reviewed'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/**
 * Why routing sent an item to review: its confidence was under its class's threshold, it was
 * drawn into the audit sample of would-be-auto-accepted items, or (import labels) the model
 * disagreed with the label. Kept after the item is reviewed, so reviews of audit items measure
 * the accuracy of auto-accepted items without bias.
 */
export const ROUTING_REASONS = ['confidence', 'audit', 'disagreement'] as const;
export type RoutingReason = (typeof ROUTING_REASONS)[number];

export const EVAL_ROLES = ['holdout', 'gold'] as const;
export type EvalRole = (typeof EVAL_ROLES)[number];

export const items = sqliteTable(
  'items',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    /** 28x28 grayscale, row-major, object light on a dark background (Fashion-MNIST convention). */
    pixels: blob('pixels', { mode: 'buffer' }).notNull(),
    /** sha256 (hex) of `pixels`: finds the same image imported under two names. */
    contentHash: text('content_hash').notNull(),
    /** Provenance: which file (plus a content-hash suffix, see lib/import) and which row of it. */
    source: text('source').notNull(),
    sourceRow: integer('source_row').notNull(),
    externalId: text('external_id'),
    /** The label the file came with, kept even after a reviewer changes `currentLabel`. */
    importLabel: integer('import_label'),
    currentLabel: integer('current_label'),
    labelSource: text('label_source', { enum: LABEL_SOURCES }),
    status: text('status', { enum: ITEM_STATUSES }).notNull().default('unscored'),
    /** holdout/gold items have trusted labels and feed the unbiased measurements. */
    evalRole: text('eval_role', { enum: EVAL_ROLES }),
    /**
     * Set by routing whenever it writes the status: null while auto-accepted or never routed.
     * No CHECK (adding one would rebuild the table); every writer goes through lib/routing-rules.
     */
    routingReason: text('routing_reason', { enum: ROUTING_REASONS }),
    importId: integer('import_id').references(() => imports.id),
    /**
     * The queue order, copied from the active model's prediction of this item (null: the active
     * model has not scored it) so that one partial index below is exactly the order claims take.
     * Kept by triggers (migration 0007_queue_triggers.sql), on every write that changes them:
     * a prediction written, an item routed back to review, a model promoted. Meaningful only
     * while the item needs review; no code writes these columns.
     */
    queueConfidence: real('queue_confidence'),
    queueMargin: real('queue_margin'),
    queueClass: integer('queue_class'),
    createdAt: createdAtColumn(),
  },
  (t) => [
    // Re-importing the same file adds nothing: inserts use ON CONFLICT DO NOTHING on this key.
    uniqueIndex('items_catalogue_source_row_uq').on(t.catalogueId, t.source, t.sourceRow),
    // The review queue and the router scan one catalogue's items by status in id order.
    index('items_catalogue_status_idx').on(t.catalogueId, t.status, t.id),
    // Browsing and per-class counts filter by label.
    index('items_catalogue_label_idx').on(t.catalogueId, t.currentLabel, t.id),
    // The catalogue browser (lib/catalogue-browse.ts) pages through a catalogue in id order and
    // filters or sorts by label source; both index-only, never reading the rows (784-byte pixels).
    index('items_catalogue_id_idx').on(t.catalogueId, t.id),
    index('items_catalogue_label_source_idx').on(t.catalogueId, t.labelSource, t.id),
    index('items_catalogue_eval_role_idx')
      .on(t.catalogueId, t.evalRole)
      .where(sql`${t.evalRole} is not null`),
    // The audit sample, read by the accuracy figures.
    index('items_catalogue_audit_idx')
      .on(t.catalogueId, t.id)
      .where(sql`${t.routingReason} = 'audit'`),
    // The focus view's queue: waiting items, most uncertain first (lib/review/claim-candidates.ts).
    index('items_queue_idx')
      .on(t.catalogueId, t.queueConfidence, t.queueMargin, t.id)
      .where(sql`${t.status} = 'needs_review'`),
    // The grid's: waiting items of one predicted class, most confident first.
    index('items_queue_class_idx')
      .on(t.catalogueId, t.queueClass, sql`${t.queueConfidence} desc`, t.id)
      .where(sql`${t.status} = 'needs_review'`),
    index('items_catalogue_content_hash_idx').on(t.catalogueId, t.contentHash),
    index('items_import_idx').on(t.importId),
    check('items_pixels_length_check', sql`length(${t.pixels}) = 784`),
    check('items_import_label_check', sql`${t.importLabel} is null or ${t.importLabel} >= 0`),
    check('items_current_label_check', sql`${t.currentLabel} is null or ${t.currentLabel} >= 0`),
    checkIn('items_status_check', t.status, ITEM_STATUSES),
    check(
      'items_label_source_check',
      sql`${t.labelSource} is null or ${t.labelSource} in ('model', 'human', 'import')`,
    ),
    check('items_eval_role_check', sql`${t.evalRole} is null or ${t.evalRole} in ('holdout', 'gold')`),
  ],
);
export type Item = typeof items.$inferSelect;
export type NewItem = typeof items.$inferInsert;

/**
 * The review queue's size per catalogue (items needing review, and of those the audit sample's),
 * kept by triggers on items in the writing transaction: the audit mix-in reads its share here
 * instead of counting the queue on every claim.
 */
export const queueCounts = sqliteTable('queue_counts', {
  catalogueId: integer('catalogue_id')
    .primaryKey()
    .references(() => catalogues.id, { onDelete: 'cascade' }),
  waiting: integer('waiting').notNull().default(0),
  waitingAudit: integer('waiting_audit').notNull().default(0),
});
export type QueueCounts = typeof queueCounts.$inferSelect;

/**
 * Each reviewer's reviews (any action) of one catalogue's items, kept by triggers on reviews:
 * the number of the reviewer's next claim there, which seeds the mix-in's draws.
 */
export const reviewerQueueCounts = sqliteTable(
  'reviewer_queue_counts',
  {
    reviewerId: integer('reviewer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    reviews: integer('reviews').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.reviewerId, t.catalogueId] })],
);
