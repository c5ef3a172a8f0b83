import { blob, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { imports } from './catalogues';

/**
 * The rows of an import in progress, checked and waiting to become items (lib/import/items.ts).
 * Written in small transactions so a large import never holds the database (or the web
 * server's event loop) for long; moved into `items` and deleted chunk by chunk once the whole
 * file is staged. Nothing else reads this table.
 */
export const importRows = sqliteTable(
  'import_rows',
  {
    importId: integer('import_id')
      .notNull()
      .references(() => imports.id, { onDelete: 'cascade' }),
    /** Position in the import: items are created in this order. */
    seq: integer('seq').notNull(),
    pixels: blob('pixels', { mode: 'buffer' }).notNull(),
    contentHash: text('content_hash').notNull(),
    source: text('source').notNull(),
    sourceRow: integer('source_row').notNull(),
    externalId: text('external_id'),
    label: integer('label'),
    /** 'holdout' | 'gold' | null, as the import's options said (items.eval_role). */
    evalRole: text('eval_role'),
  },
  (t) => [primaryKey({ columns: [t.importId, t.seq] })],
);
