import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { checkIn, createdAtColumn, NOW_MS, timestampMs } from './columns';
import { users } from './users';

export const catalogues = sqliteTable('catalogues', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** Ordered: a label is an index into this array, so it must never be reordered once items exist. */
  classNames: text('class_names', { mode: 'json' }).$type<string[]>().notNull(),
  /**
   * The review pages' key per class (index as in classNames; null: no key), set by an admin;
   * null: the default (1-9, 0, then letters). Read through lib/review/class-keys.ts only.
   */
  classKeys: text('class_keys', { mode: 'json' }).$type<(string | null)[]>(),
  createdAt: createdAtColumn(),
});
export type Catalogue = typeof catalogues.$inferSelect;
export type NewCatalogue = typeof catalogues.$inferInsert;

export const IMPORT_KINDS = ['idx', 'csv', 'images'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/**
 * An import in two phases (lib/import/items.ts): 'staging' while its rows are checked and
 * written to import_rows (nothing visible yet; a crash here is rolled back), 'moving' once
 * every row is staged (the import is decided; a crash here is rolled forward), then 'done'.
 */
export const IMPORT_STATES = ['staging', 'moving', 'done'] as const;
export type ImportState = (typeof IMPORT_STATES)[number];

/** One row per import run, kept even when every row was already present (an audit trail). */
export const imports = sqliteTable(
  'imports',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: IMPORT_KINDS }).notNull(),
    /** Human-readable: the file path(s) the items came from. */
    source: text('source').notNull(),
    /** sha256 (hex) of the primary input file; null when items came from memory. */
    fileHash: text('file_hash'),
    /** Rows in the input. */
    itemCount: integer('item_count').notNull(),
    /** Rows actually added; the rest were already present from an earlier import. */
    insertedCount: integer('inserted_count').notNull().default(0),
    /** See IMPORT_STATES. No CHECK: adding one would rebuild the table; only lib/import writes it. */
    state: text('state', { enum: IMPORT_STATES }).notNull().default('done'),
    /** Rows checked and staged so far, for the progress shown while a large import runs. */
    stagedCount: integer('staged_count').notNull().default(0),
    /** Written with every chunk: an unfinished import whose heartbeat is old was abandoned by a crash. */
    heartbeatAt: timestampMs('heartbeat_at'),
    createdAt: createdAtColumn(),
  },
  (t) => [
    index('imports_catalogue_created_idx').on(t.catalogueId, t.createdAt),
    index('imports_unfinished_idx')
      .on(t.catalogueId, t.id)
      .where(sql`${t.state} <> 'done'`),
    checkIn('imports_kind_check', t.kind, IMPORT_KINDS),
  ],
);
export type Import = typeof imports.$inferSelect;

/**
 * Stored as JSON: rows written before a key existed lack it, so readers fill the defaults in
 * (lib/learning/schedule.ts getRetrainPolicy) and never read this column directly.
 */
export interface RetrainPolicy {
  /** Retrain once this many new human labels have accumulated since the last candidate. */
  minNewLabels: number;
  /** Automatic retraining (by count and by timer) can be switched off per catalogue. */
  enabled: boolean;
  /** Also retrain when this many minutes passed since the last training job; null: no timer. */
  intervalMinutes?: number | null;
  /** The evaluation gate's allowed holdout accuracy drop, in percentage points. */
  maxHoldoutDropPoints?: number;
}

export const DEFAULT_RETRAIN_POLICY: Required<RetrainPolicy> = {
  minNewLabels: 200,
  enabled: true,
  intervalMinutes: null,
  maxHoldoutDropPoints: 0.2,
};
/** The column's SQL default as migration 0000 wrote it; the other keys' defaults are filled in on read. */
const RETRAIN_POLICY_COLUMN_DEFAULT: RetrainPolicy = { minNewLabels: 200, enabled: true };

export const settings = sqliteTable('settings', {
  catalogueId: integer('catalogue_id')
    .primaryKey()
    .references(() => catalogues.id, { onDelete: 'cascade' }),
  /** Calibrated confidence at or above which a prediction is auto-accepted. */
  threshold: real('threshold').notNull().default(0.9),
  /** Class index (as a string key) -> threshold, overriding `threshold` for that class. */
  perClassThresholds: text('per_class_thresholds', { mode: 'json' })
    .$type<Record<string, number>>()
    .notNull()
    .default({}),
  /** Fraction of auto-accepted items routed to review anyway, for an unbiased accuracy figure. */
  auditRate: real('audit_rate').notNull().default(0.02),
  /** Share of claims that hand the reviewer a gold item (known label) instead, to measure reviewers. */
  goldRate: real('gold_rate').notNull().default(0.05),
  retrainPolicy: text('retrain_policy', { mode: 'json' })
    .$type<RetrainPolicy>()
    .notNull()
    .default(RETRAIN_POLICY_COLUMN_DEFAULT),
  updatedAt: timestampMs('updated_at').notNull().default(NOW_MS),
  updatedBy: integer('updated_by').references(() => users.id),
});
export type Settings = typeof settings.$inferSelect;

/** Append-only history of settings edits: who changed which field from what to what. */
export const settingsChanges = sqliteTable(
  'settings_changes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    /** Null when the change came from a script rather than a signed-in user. */
    userId: integer('user_id').references(() => users.id),
    field: text('field').notNull(),
    /** JSON-encoded values, so any field type fits one column. */
    oldValue: text('old_value'),
    newValue: text('new_value'),
    createdAt: createdAtColumn(),
  },
  (t) => [index('settings_changes_catalogue_created_idx').on(t.catalogueId, t.createdAt)],
);
export type SettingsChange = typeof settingsChanges.$inferSelect;
