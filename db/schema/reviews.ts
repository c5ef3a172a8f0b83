import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { checkIn, createdAtColumn, timestampMs } from './columns';
import { items } from './items';
import { modelVersions } from './models';
import { users } from './users';

export const REVIEW_ACTIONS = ['confirm', 'correct', 'skip', 'unsure'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

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
    createdAt: createdAtColumn(),
  },
  (t) => [
    index('reviews_item_created_idx').on(t.itemId, t.createdAt),
    index('reviews_reviewer_created_idx').on(t.reviewerId, t.createdAt),
    // Throughput dashboards bucket reviews by time.
    index('reviews_created_idx').on(t.createdAt),
    checkIn('reviews_action_check', t.action, REVIEW_ACTIONS),
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
  (t) => [
    index('leases_reviewer_idx').on(t.reviewerId),
    index('leases_expires_idx').on(t.expiresAt),
  ],
);
export type Lease = typeof leases.$inferSelect;
