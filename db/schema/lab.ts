import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { catalogues } from './catalogues';
import { createdAtColumn, timestampMs } from './columns';
import { jobs } from './jobs';
import { modelVersions } from './models';
import { users } from './users';

/** How a lab run was asked to train (lib/lab/lab-runs.ts validates it). */
export type LabRunSettings = Record<string, unknown>;

/**
 * A model-lab run: architectures trained on a catalogue's labelled pool and measured on its
 * holdout, as one `lab` job. Its status and progress are the job's.
 */
export const labRuns = sqliteTable(
  'lab_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    catalogueId: integer('catalogue_id')
      .notNull()
      .references(() => catalogues.id, { onDelete: 'cascade' }),
    jobId: integer('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    requestedBy: integer('requested_by').references(() => users.id),
    /** The architectures asked for, in order. */
    archs: text('archs', { mode: 'json' }).$type<string[]>().notNull(),
    settings: text('settings', { mode: 'json' }).$type<LabRunSettings>().notNull(),
    /** Set when the worker has read the data: what was trained on and measured on. */
    source: text('source'),
    trainCount: integer('train_count'),
    /** The test items (holdout item ids) and their labels, in the order every result's predictions use. */
    testItemIds: text('test_item_ids', { mode: 'json' }).$type<number[]>(),
    testLabels: text('test_labels', { mode: 'json' }).$type<number[]>(),
    createdAt: createdAtColumn(),
    finishedAt: timestampMs('finished_at'),
  },
  (t) => [index('lab_runs_catalogue_created_idx').on(t.catalogueId, t.createdAt)],
);
export type LabRun = typeof labRuns.$inferSelect;

/** One architecture's row in a lab run's table. */
export const labResults = sqliteTable(
  'lab_results',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => labRuns.id, { onDelete: 'cascade' }),
    arch: text('arch').notNull(),
    accuracy: real('accuracy').notNull(),
    macroF1: real('macro_f1').notNull(),
    ece: real('ece').notNull(),
    params: integer('params').notNull(),
    trainSeconds: real('train_seconds').notNull(),
    imagesPerSecond: real('images_per_second').notNull(),
    coverageAt1PctError: real('coverage_at_1pct_error').notNull(),
    /** Per-class report, confusion matrix, coverage at each error budget, training details. */
    report: text('report', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    /** Predicted class and confidence of each test item, in the run's test order. */
    predicted: text('predicted', { mode: 'json' }).$type<number[]>().notNull(),
    confidence: text('confidence', { mode: 'json' }).$type<number[]>().notNull(),
    /** The saved model folder (networks Loupe can serve); null for the baselines it cannot. */
    modelDir: text('model_dir'),
    /** The candidate version made from it, once registered. */
    modelVersionId: integer('model_version_id').references(() => modelVersions.id, { onDelete: 'set null' }),
    createdAt: createdAtColumn(),
  },
  (t) => [uniqueIndex('lab_results_run_arch_uq').on(t.runId, t.arch)],
);
export type LabResultRow = typeof labResults.$inferSelect;
