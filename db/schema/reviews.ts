import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from 'drizzle-orm/sqlite-core';
import { checkIn, createdAtColumn, timestampMs } from './columns';
import { items } from './items';
import { modelVersions } from './models';
import { users } from './users';

/**
 * `undo` rows revert an earlier confirm/correct (named by `revertsReviewId`) without touching
 * it: the log stays append-only. Whoever counts decisions or reads human labels from this
 * table skips `undo` rows and the reviews they revert (see lib/reviews.ts).
 */
export const REVIEW_ACTIONS = ['confirm', 'correct', 'skip', 'unsure', 'undo'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];
/** What a reviewer decides about an item; `undo` is recorded by lib/reviews.ts only. */
export const DECISION_ACTIONS = ['confirm', 'correct', 'skip', 'unsure'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** Append-only: a verdict is never updated or deleted; the item's current label is derived. */
export const reviews = sqliteTable(
  'reviews',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    itemId: integer('item_id')
      .notNull()
      .references(() => items.id),
    reviewerId: integer('reviewer_id')
      .notNull()
      .references(() => users.id),
    /** The model whose prediction the reviewer saw; null for items shown without one. */
    modelVersionId: integer('model_version_id').references(() => modelVersions.id),
    modelLabel: integer('model_label'),
    /** Null for skip/unsure. */
    chosenLabel: integer('chosen_label'),
    action: text('action', { enum: REVIEW_ACTIONS }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    /** Sent by the client with each submit: a retried request hits this and records nothing. */
    clientId: text('client_id').notNull().unique(),
    /** Set on `undo` rows only: the confirm/correct this row reverts. */
    revertsReviewId: integer('reverts_review_id').references((): AnySQLiteColumn => reviews.id),
    createdAt: createdAtColumn(),
  },
  (t) => [
    index('reviews_item_created_idx').on(t.itemId, t.createdAt),
    index('reviews_reviewer_created_idx').on(t.reviewerId, t.createdAt),
    // A claim's "not decided / not passed over by this reviewer" checks: one probe per candidate item.
    index('reviews_reviewer_item_idx').on(t.reviewerId, t.itemId),
    // Throughput dashboards bucket reviews by time.
    index('reviews_created_idx').on(t.createdAt),
    // A review is undone at most once, even by two racing requests.
    uniqueIndex('reviews_reverts_review_uq').on(t.revertsReviewId),
    checkIn('reviews_action_check', t.action, REVIEW_ACTIONS),
    check('reviews_undo_target_check', sql`(${t.action} = 'undo') = (${t.revertsReviewId} is not null)`),
    check('reviews_duration_check', sql`${t.durationMs} >= 0`),
  ],
);
export type Review = typeof reviews.$inferSelect;
export type NewReview = typeof reviews.$inferInsert;

/** At most one lease per item (the primary key); an expired lease may be taken over. */
export const leases = sqliteTable(
  'leases',
  {
    itemId: integer('item_id')
      .primaryKey()
      .references(() => items.id, { onDelete: 'cascade' }),
    reviewerId: integer('reviewer_id')
      .notNull()
      .references(() => users.id),
    expiresAt: timestampMs('expires_at').notNull(),
  },
  (t) => [index('leases_reviewer_idx').on(t.reviewerId), index('leases_expires_idx').on(t.expiresAt)],
);
export type Lease = typeof leases.$inferSelect;
