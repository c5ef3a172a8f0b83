import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { dialectOf, pgExecute, withSqlite, withTransaction, type Db, onlyRow, firstRow } from '@/db/client';
import { catalogues, IMPORT_KINDS, imports } from '@/db/schema';
import { AppError, badInput } from '@/lib/errors';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { DUPLICATE_IDS_SHOWN, type DuplicateReport } from './duplicates';
import {
  dropStagedImport,
  finishImport,
  IMPORT_CHUNK_ROWS,
  listUnfinishedImports,
  moveChunk,
  recoverImports,
  stageRows,
  startMoving,
  type StagedRow,
} from './staging';
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
  /** May return a promise: the import waits for it before its next step. */
  onProgress?: (done: number, total: number, phase: ImportProgress['phase']) => unknown;
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

export interface ImportProgress {
  /** 'checking': rows hashed, compared and staged; 'adding': staged rows becoming items. */
  phase: 'checking' | 'adding';
  done: number;
  total: number;
}

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

/** Items of a catalogue with any of these pixel hashes: each database's fastest form of the same query. */
async function sameContent(
  db: Db,
  catalogueId: number,
  hashes: string[],
): Promise<{ hash: string; source: string; sourceRow: number }[]> {
  if (dialectOf(db) === 'postgres')
    return (
      await pgExecute<{ hash: string; source: string; sourceRow: number }>(
        db,
        sql`select id, content_hash as hash, source, source_row as "sourceRow" from items
          where catalogue_id = ${catalogueId} and content_hash in (select jsonb_array_elements_text(${JSON.stringify(hashes)}::jsonb))`,
      )
    ).rows;
  return withSqlite(
    db,
    (sqlite) =>
      sqlite.prepare(IMPORT_SQL.sameContent).all(catalogueId, JSON.stringify(hashes)) as {
        hash: string;
        source: string;
        sourceRow: number;
      }[],
  );
}

/** The first item (lowest id) with each of these pixel hashes. */
async function firstWith(db: Db, catalogueId: number, hashes: string[]): Promise<{ hash: string; id: number }[]> {
  if (dialectOf(db) === 'postgres')
    return (
      await pgExecute<{ hash: string; id: number }>(
        db,
        sql`select content_hash as hash, min(id) as id from items
          where catalogue_id = ${catalogueId} and content_hash in (select jsonb_array_elements_text(${JSON.stringify(hashes)}::jsonb))
          group by content_hash`,
      )
    ).rows;
  return withSqlite(
    db,
    (sqlite) =>
      sqlite.prepare(IMPORT_SQL.firstWith).all(catalogueId, JSON.stringify(hashes)) as { hash: string; id: number }[],
  );
}

const IMPORT_SQL = {
  // json_each keeps one prepared statement for any number of hashes; the IN still uses
  // items_catalogue_content_hash_idx. No ORDER BY: with one, SQLite walks the catalogue in id order.
  sameContent: `select id, content_hash as hash, source, source_row as sourceRow from items
    where catalogue_id = ? and content_hash in (select value from json_each(?))`,
  firstWith: `select content_hash as hash, min(id) as id from items
    where catalogue_id = ? and content_hash in (select value from json_each(?)) group by content_hash`,
} as const;

/**
 * Starts an import of `total` rows into the catalogue: ends abandoned imports there first, then
 * refuses when another import into it is still running (two at once could not tell each
 * other's rows apart from duplicates), and records this one as 'staging'.
 */
async function beginImport(
  db: Db,
  catalogueId: number,
  options: z.infer<typeof ImportOptions>,
  total: number,
): Promise<number> {
  await recoverImports(db, { catalogueId });
  return await withTransaction(
    db,
    async (tx) => {
      const running = (await listUnfinishedImports(tx, catalogueId))[0];
      if (running) {
        throw new AppError(
          'conflict',
          `Another import into this catalogue is still running (import ${running.id}: ${running.stagedCount.toLocaleString('en')} of ${running.itemCount.toLocaleString('en')} rows checked); try again when it has finished.`,
        );
      }
      return (
        await tx
          .insert(imports)
          .values({
            catalogueId,
            kind: options.kind,
            source: options.description ?? options.source,
            fileHash: options.fileHash ?? null,
            itemCount: total,
            state: 'staging',
            heartbeatAt: new Date(),
          })
          .returning({ id: imports.id })
          .then(onlyRow)
      ).id;
    },
    { behavior: 'immediate' },
  );
}

/**
 * An import as a sequence of short steps, each its own transaction (lib/import/staging.ts):
 * every row is checked, hashed and staged, and only then (the import is decided) moved into
 * items. Each `yield` is a point where a caller may let other work run. Items already imported
 * from the same (source, row) are left as they are, so running an import twice adds nothing
 * the second time.
 *
 * The same picture under another name (a renamed file, a CSV export of an IDX file) is found
 * by the sha256 of its pixels (`content_hash`, indexed per catalogue): such rows are skipped
 * and reported with the ids of the items they match, unless `keepDuplicates`. Within one
 * import the first copy is imported and later copies are reported the same way, as matching it.
 */
async function* importSteps(db: Db, input: ImportItemsInput): AsyncGenerator<ImportProgress, ImportResult, void> {
  const options = parseInput(ImportOptions, input);
  const list = input.items;
  const total = list.length;
  const catalogue = await db
    .select()
    .from(catalogues)
    .where(eq(catalogues.slug, options.catalogueSlug))
    .limit(1)
    .then(firstRow);
  if (!catalogue) throw new AppError('not_found', `There is no catalogue "${options.catalogueSlug}".`);
  checkItems(list, catalogue.classNames.length, options.source, options.evalRole);
  const importId = await beginImport(db, catalogue.id, options, total);

  const keep = options.keepDuplicates === true;
  let duplicates = 0;
  let staged = 0;
  /** Pixel hashes of the catalogue's items met so far, and of this import's staged rows. */
  const known = new Set<string>();
  /** Hashes of the rows found to be duplicates, in the order met: one per matching item. */
  const duplicateHashes = new Set<string>();
  try {
    for (let start = 0; start < total; start += IMPORT_CHUNK_ROWS) {
      const chunk = list.slice(start, start + IMPORT_CHUNK_ROWS);
      const hashes = chunk.map((item) => sha256Hex(item.pixels));
      const unseen = [...new Set(hashes)].filter((hash) => !known.has(hash));
      const sameRows = new Set<string>();
      const matches = unseen.length === 0 ? [] : await sameContent(db, catalogue.id, unseen);
      for (const match of matches) {
        known.add(match.hash);
        sameRows.add(`${match.sourceRow}\n${match.source}`);
      }
      const rows: StagedRow[] = [];
      chunk.forEach((item, index) => {
        const hash = hashes[index]!;
        const source = item.source ?? options.source;
        // The same row of the same file: "already present", left to the move's ON CONFLICT.
        if (!sameRows.has(`${item.sourceRow}\n${source}`) && known.has(hash)) {
          duplicates += 1;
          duplicateHashes.add(hash);
          if (!keep) return;
        }
        known.add(hash);
        rows.push({
          seq: start + index,
          pixels: Buffer.from(item.pixels.buffer, item.pixels.byteOffset, item.pixels.byteLength),
          contentHash: hash,
          source,
          sourceRow: item.sourceRow,
          externalId: item.externalId ?? null,
          label: item.label,
          evalRole: options.evalRole ?? null,
        });
      });
      staged += rows.length;
      await stageRows(db, importId, rows, start + chunk.length);
      yield { phase: 'checking', done: start + chunk.length, total };
    }
  } catch (error) {
    await dropStagedImport(db, importId);
    throw error;
  }

  await startMoving(db, importId);
  let inserted = 0;
  let moved = 0;
  for (let written = await moveChunk(db, importId); written !== null; written = await moveChunk(db, importId)) {
    inserted += written;
    moved = Math.min(staged, moved + IMPORT_CHUNK_ROWS);
    yield { phase: 'adding', done: moved, total: staged };
  }
  await finishImport(db, importId);

  const shown = [...duplicateHashes].slice(0, DUPLICATE_IDS_SHOWN);
  const ids = new Map(
    shown.length === 0 ? [] : (await firstWith(db, catalogue.id, shown)).map((row) => [row.hash, row.id]),
  );
  const skipped = keep ? 0 : duplicates;
  return {
    importId,
    catalogueId: catalogue.id,
    total,
    inserted,
    alreadyPresent: total - inserted - skipped,
    duplicates,
    duplicateItems: duplicateHashes.size,
    duplicateOf: shown.flatMap((hash) => (ids.has(hash) ? [ids.get(hash)!] : [])),
    duplicatesKept: keep,
  };
}

/**
 * Adds items to a catalogue, all or nothing: a bad row (checked before anything is written)
 * imports nothing, and a crash part-way either leaves nothing or is finished by the next
 * Loupe process (lib/import/staging.ts). For the command line and tests; a server handling
 * requests uses importItemsInChunks, which lets them run between the chunks.
 */
export async function importItems(db: Db, input: ImportItemsInput): Promise<ImportResult> {
  const steps = importSteps(db, input);
  for (let step = await steps.next(); ; step = await report(steps, step.value, input.onProgress)) {
    if (step.done) return step.value;
  }
}

/** importItems, letting other work run after every chunk (a few tens of milliseconds each). */
export async function importItemsInChunks(db: Db, input: ImportItemsInput): Promise<ImportResult> {
  const steps = importSteps(db, input);
  for (let step = await steps.next(); ; step = await report(steps, step.value, input.onProgress)) {
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Tells the caller where the import stands; an error thrown there ends the import as any other would. */
async function report(
  steps: AsyncGenerator<ImportProgress, ImportResult, void>,
  progress: ImportProgress,
  onProgress: ImportItemsInput['onProgress'],
): Promise<IteratorResult<ImportProgress, ImportResult>> {
  try {
    await onProgress?.(progress.done, progress.total, progress.phase);
  } catch (error) {
    return steps.throw(error);
  }
  return steps.next();
}
