import { createHash } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { catalogues, IMPORT_KINDS, imports, items, type NewItem } from '@/db/schema';
import { AppError, badInput } from '@/lib/errors';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { DUPLICATE_IDS_SHOWN, type DuplicateReport } from './duplicates';
import { parseInput } from '@/lib/validate';

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
  /**
   * Import rows whose pixels match an item already in the catalogue (or an earlier row of the
   * same import) anyway. By default they are skipped and reported (see ImportResult.duplicates).
   */
  keepDuplicates: z.boolean().optional(),
});

export type ImportItemsInput = z.infer<typeof ImportOptions> & {
  items: ImportItem[];
  onProgress?: (done: number, total: number) => void;
};

export interface ImportResult extends DuplicateReport {
  importId: number;
  catalogueId: number;
  total: number;
  /** Rows written, kept duplicates included. */
  inserted: number;
  /** Rows skipped because the same (source, row) was imported before: the same file again. */
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
 *
 * The same picture under another name (a renamed file, a CSV export of an IDX file) is found
 * by the sha256 of its pixels (`content_hash`, indexed per catalogue): such rows are skipped
 * and reported with the ids of the items they match, unless `keepDuplicates`. Within one
 * import the first copy is imported and later copies are reported the same way, as matching it.
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
      let skipped = 0;
      const keep = options.keepDuplicates === true;
      const report: DuplicateReport = { duplicates: 0, duplicateItems: 0, duplicateOf: [], duplicatesKept: keep };
      const matched = new Set<number>();
      /** Pixel hash -> the lowest id of an item with those pixels, in the catalogue or this import. */
      const firstWith = new Map<string, number>();
      for (let start = 0; start < total; start += CHUNK_ROWS) {
        const chunk = list.slice(start, start + CHUNK_ROWS);
        const hashes = chunk.map((item) => sha256Hex(item.pixels));
        const unseen = [...new Set(hashes)].filter((hash) => !firstWith.has(hash));
        // One indexed lookup per chunk (items_catalogue_content_hash_idx); 500 hashes is far below the variable limit.
        const sameRows = new Set<string>();
        if (unseen.length > 0) {
          const matches = tx
            .select({ id: items.id, hash: items.contentHash, source: items.source, sourceRow: items.sourceRow })
            .from(items)
            .where(and(eq(items.catalogueId, catalogue.id), inArray(items.contentHash, unseen)))
            .all();
          // No ORDER BY: with one, SQLite walks the whole catalogue in id order instead of the hash index.
          for (const match of matches) {
            const known = firstWith.get(match.hash);
            if (known === undefined || match.id < known) firstWith.set(match.hash, match.id);
            sameRows.add(`${match.sourceRow}\n${match.source}`);
          }
        }
        const duplicateHashes: string[] = [];
        const pending = new Set<string>();
        const toWrite = chunk.flatMap((item, index) => {
          const hash = hashes[index]!;
          // The same row of the same file: "already present", left to ON CONFLICT below.
          if (sameRows.has(`${item.sourceRow}\n${item.source ?? options.source}`)) return [{ item, hash }];
          if (firstWith.has(hash) || pending.has(hash)) {
            report.duplicates += 1;
            duplicateHashes.push(hash);
            if (!keep) skipped += 1;
            return keep ? [{ item, hash }] : [];
          }
          pending.add(hash);
          return [{ item, hash }];
        });
        const rows: NewItem[] = toWrite.map(({ item, hash }) => ({
          catalogueId: catalogue.id,
          pixels: Buffer.from(item.pixels.buffer, item.pixels.byteOffset, item.pixels.byteLength),
          contentHash: hash,
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
        const written =
          rows.length === 0
            ? []
            : tx
                .insert(items)
                .values(rows)
                .onConflictDoNothing({ target: [items.catalogueId, items.source, items.sourceRow] })
                .returning({ id: items.id, hash: items.contentHash })
                .all();
        inserted += written.length;
        for (const row of written) {
          const known = firstWith.get(row.hash);
          if (known === undefined || row.id < known) firstWith.set(row.hash, row.id);
        }
        for (const hash of duplicateHashes) {
          const id = firstWith.get(hash)!;
          if (matched.has(id)) continue;
          matched.add(id);
          if (report.duplicateOf.length < DUPLICATE_IDS_SHOWN) report.duplicateOf.push(id);
        }
        onProgress?.(Math.min(start + CHUNK_ROWS, total), total);
      }

      tx.update(imports).set({ insertedCount: inserted }).where(eq(imports.id, importRow.id)).run();
      return {
        importId: importRow.id,
        catalogueId: catalogue.id,
        total,
        inserted,
        alreadyPresent: total - inserted - skipped,
        ...report,
        duplicateItems: matched.size,
      };
    },
    { behavior: 'immediate' },
  );
}
