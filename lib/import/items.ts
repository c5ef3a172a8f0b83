import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { catalogues, IMPORT_KINDS, imports, items, type NewItem } from '@/db/schema';
import { AppError, badInput } from '@/lib/errors';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { parseInput } from './parse-input';

export interface ImportItem {
  /** 784 bytes, 28x28 row-major, light object on black. */
  pixels: Uint8Array;
  label: number | null;
  /** Position in the source (0-based row, or 0 for a single-image file): half of the dedup key. */
  sourceRow: number;
  externalId?: string;
  /** Overrides the import's `source` for this item (one image file among many). */
  source?: string;
}

const ImportOptions = z.object({
  catalogueSlug: z.string().min(1),
  kind: z.enum(IMPORT_KINDS),
  /** Identifies the items' origin; with `sourceRow` it decides what counts as already imported. */
  source: z.string().min(1),
  /** What the imports table shows; defaults to `source`. */
  description: z.string().min(1).optional(),
  fileHash: z.string().optional(),
  /**
   * 'holdout': the items are trusted evaluation data (the promotion gate's holdout). Each needs
   * a label; they are stored reviewed, so they are never scored, routed, queued or trained on.
   * 'gold': items with known labels mixed blind into reviewers' queues (lib/queue-mixed-in.ts).
   * Each needs a label; they wait unscored only until scoring stores the active model's
   * prediction (what reviewers are shown), then stay reviewed: never routed or trained on.
   */
  evalRole: z.enum(['holdout', 'gold']).optional(),
});

export type ImportItemsInput = z.infer<typeof ImportOptions> & {
  items: ImportItem[];
  onProgress?: (done: number, total: number) => void;
};

export interface ImportResult {
  importId: number;
  catalogueId: number;
  total: number;
  inserted: number;
  /** Rows skipped because the same (source, row) was imported before. */
  alreadyPresent: number;
}

// 11 bound parameters a row; 500 rows stays far below SQLite's 32766-variable limit.
const CHUNK_ROWS = 500;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Checks every item before anything is written, so the error names the row, not a constraint. */
function checkItems(
  list: ImportItem[],
  classCount: number,
  source: string,
  evalRole: 'holdout' | 'gold' | undefined,
): void {
  list.forEach((item, index) => {
    // Without the content-hash suffix of file sources: people know the file by its name.
    const where = `${(item.source ?? source).replace(/#[0-9a-f]{12}$/, '')}, row ${item.sourceRow}`;
    if (item.pixels.length !== PIXELS_PER_IMAGE) {
      throw badInput(`${where}: an item has ${PIXELS_PER_IMAGE} pixels (28x28), this one has ${item.pixels.length}.`);
    }
    if (!Number.isInteger(item.sourceRow) || item.sourceRow < 0) {
      throw badInput(`${source}: item ${index} has an invalid source row ${item.sourceRow}.`);
    }
    if (item.label !== null && (!Number.isInteger(item.label) || item.label < 0 || item.label >= classCount)) {
      throw badInput(`${where}: label ${item.label} is out of range; this catalogue has classes 0-${classCount - 1}.`);
    }
    if (evalRole && item.label === null) {
      throw badInput(
        `${where}: has no label; a ${evalRole} item needs its trusted label (give the labels file, or import it without --${evalRole}).`,
      );
    }
  });
}

/**
 * Adds items to a catalogue in one transaction: either every row is written (or found
 * already present) or, on any error, none is. Items already imported from the same
 * (source, row) are left as they are, so running an import twice adds nothing the second time.
 */
export function importItems(db: Db, input: ImportItemsInput): ImportResult {
  const options = parseInput(ImportOptions, input);
  const { items: list, onProgress } = input;
  const total = list.length;

  // Synchronous on purpose: better-sqlite3 transactions must not span an await.
  return db.transaction(
    (tx) => {
      const catalogue = tx.select().from(catalogues).where(eq(catalogues.slug, options.catalogueSlug)).get();
      if (!catalogue) throw new AppError('not_found', `There is no catalogue "${options.catalogueSlug}".`);
      checkItems(list, catalogue.classNames.length, options.source, options.evalRole);

      const importRow = tx
        .insert(imports)
        .values({
          catalogueId: catalogue.id,
          kind: options.kind,
          source: options.description ?? options.source,
          fileHash: options.fileHash ?? null,
          itemCount: total,
        })
        .returning({ id: imports.id })
        .get();

      let inserted = 0;
      for (let start = 0; start < total; start += CHUNK_ROWS) {
        const rows: NewItem[] = list.slice(start, start + CHUNK_ROWS).map((item) => ({
          catalogueId: catalogue.id,
          pixels: Buffer.from(item.pixels.buffer, item.pixels.byteOffset, item.pixels.byteLength),
          contentHash: sha256Hex(item.pixels),
          source: item.source ?? options.source,
          sourceRow: item.sourceRow,
          externalId: item.externalId ?? null,
          importLabel: item.label,
          currentLabel: item.label,
          labelSource: item.label === null ? null : 'import',
          // Labelled or not, an item waits for the model; routing decides what a person sees.
          // Holdout items are final as imported: never scored, routed or queued. Gold items
          // wait for a prediction to show reviewers (scoring then marks them reviewed, unrouted).
          status: options.evalRole === 'holdout' ? 'reviewed' : 'unscored',
          evalRole: options.evalRole ?? null,
          importId: importRow.id,
        }));
        const result = tx
          .insert(items)
          .values(rows)
          .onConflictDoNothing({ target: [items.catalogueId, items.source, items.sourceRow] })
          .run();
        inserted += result.changes;
        onProgress?.(Math.min(start + CHUNK_ROWS, total), total);
      }

      tx.update(imports).set({ insertedCount: inserted }).where(eq(imports.id, importRow.id)).run();
      return { importId: importRow.id, catalogueId: catalogue.id, total, inserted, alreadyPresent: total - inserted };
    },
    { behavior: 'immediate' },
  );
}
