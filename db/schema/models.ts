import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { catalogues } from './catalogues';
import { checkIn, createdAtColumn, timestampMs } from './columns';
import { items } from './items';

export const MODEL_STATUSES = ['candidate', 'active', 'rejected', 'retired'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

/** Free-form evaluation results; the evaluation module owns the shape. */
export type ModelMetrics = Record<string, unknown>;

export const modelVersions = sqliteTable(
  'model_versions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    arch: text('arch').notNull(),
    /** The model this one was fine-tuned from; null when trained from scratch. */
    parentId: integer('parent_id').references((): AnySQLiteColumn => modelVersions.id),
    weightsPath: text('weights_path').notNull(),
    /** Temperature-scaling calibration factor (1 = uncalibrated). */
    temperature: real('temperature').notNull().default(1),
    metrics: text('metrics', { mode: 'json' }).$type<ModelMetrics>(),
    status: text('status', { enum: MODEL_STATUSES }).notNull().default('candidate'),
    createdAt: createdAtColumn(),
    promotedAt: timestampMs('promoted_at'),
  },
  (t) => [
    uniqueIndex('model_versions_catalogue_name_uq').on(t.catalogueId, t.name),
    index('model_versions_catalogue_status_idx').on(t.catalogueId, t.status),
    // At most one active model per catalogue: promotion must retire the old one in the same
    // transaction, or this index refuses the write.
    uniqueIndex('model_versions_one_active_uq')
      .on(t.catalogueId)
      .where(sql`${t.status} = 'active'`),
    checkIn('model_versions_status_check', t.status, MODEL_STATUSES),
  ],
);
export type ModelVersion = typeof modelVersions.$inferSelect;
export type NewModelVersion = typeof modelVersions.$inferInsert;

export const predictions = sqliteTable(
  'predictions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    itemId: integer('item_id')
      .notNull()
      .references(() => items.id, { onDelete: 'cascade' }),
    modelVersionId: integer('model_version_id')
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'cascade' }),
    /** Calibrated class probabilities, one per catalogue class, in class order. */
    probs: text('probs', { mode: 'json' }).$type<number[]>().notNull(),
    predictedClass: integer('predicted_class').notNull(),
    /** Calibrated probability of `predictedClass`. */
    confidence: real('confidence').notNull(),
    /** Top-1 minus top-2 probability: a second uncertainty signal for ordering the queue. */
    margin: real('margin').notNull(),
    createdAt: createdAtColumn(),
  },
  (t) => [
    uniqueIndex('predictions_item_model_uq').on(t.itemId, t.modelVersionId),
    // Threshold projections and risk-coverage read one model's predictions by confidence; the
    // catalogue browser pages through them in that order (item id last: ties and the join key).
    index('predictions_model_confidence_idx').on(t.modelVersionId, t.confidence, t.itemId),
    // The browser's filter on the predicted class, sorted by confidence within it.
    index('predictions_model_class_confidence_idx').on(t.modelVersionId, t.predictedClass, t.confidence, t.itemId),
  ],
);
export type Prediction = typeof predictions.$inferSelect;
export type NewPrediction = typeof predictions.$inferInsert;
