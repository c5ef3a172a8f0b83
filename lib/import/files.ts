import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { parseCsv } from '@/lib/formats/csv';
import { readIdxImagesFile, readIdxLabelsFile } from '@/lib/formats/idx-file';
import { readImageFiles } from '@/lib/formats/images';
import { AppError, badInput } from '@/lib/errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { requireCatalogue } from '../catalogues';
import { importItemsInChunks, type ImportItem, type ImportItemsInput, type ImportResult } from './items';
import { parseInput } from '@/lib/validate';

// Each helper parses and checks the whole input first and only then opens the one write
// transaction, so a bad file is rejected before anything is written.

type OnProgress = NonNullable<ImportItemsInput['onProgress']>;

async function readInputFile(filePath: string): Promise<Buffer> {
  try {
    return await fs.readFile(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not_found', `${filePath}: file not found.`);
    if (code === 'EISDIR') throw badInput(`${filePath}: is a folder; expected a file.`);
    throw new AppError('internal', `${filePath}: could not be read.`, { cause: error });
  }
}

/** The same messages as readInputFile, for files that are then streamed rather than read whole. */
async function checkInputFile(filePath: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not_found', `${filePath}: file not found.`);
    throw new AppError('internal', `${filePath}: could not be read.`, { cause: error });
  }
  if (stat.isDirectory()) throw badInput(`${filePath}: is a folder; expected a file.`);
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The items' `source`: the file name plus the start of its content hash. Keyed on content,
 * re-importing the same file from anywhere adds nothing, while a different file that happens
 * to share a name (two exports called data.csv) is not mistaken for one already imported.
 */
function sourceKey(filePath: string, hash: string): string {
  return `${path.basename(filePath)}#${hash.slice(0, 12)}`;
}

/** See ImportItemsInput.evalRole: 'holdout' and 'gold' import trusted evaluation items. */
const EvalRole = z.enum(['holdout', 'gold']).optional();

const ImportIdxInput = z.object({
  catalogueSlug: z.string().min(1),
  imagesPath: z.string().min(1),
  labelsPath: z.string().min(1).optional(),
  evalRole: EvalRole,
});

export async function importIdx(
  db: Db,
  input: z.infer<typeof ImportIdxInput> & { onProgress?: OnProgress; maxItems?: number; keepDuplicates?: boolean },
): Promise<ImportResult> {
  const { catalogueSlug, imagesPath, labelsPath, evalRole } = parseInput(ImportIdxInput, input);
  if (evalRole && !labelsPath)
    throw badInput(`${path.basename(imagesPath)}: a ${evalRole} import needs its labels; give the labels file too.`);
  await requireCatalogue(db, catalogueSlug);
  // Streamed and inflated within the header's size and LOUPE_IMPORT_MAX_BYTES (lib/formats/idx).
  await checkInputFile(imagesPath);
  const { images, sha256: fileHash } = await readIdxImagesFile(imagesPath, {
    side: IMAGE_SIZE,
    maxItems: input.maxItems,
  });
  let labels: Uint8Array | null = null;
  if (labelsPath) {
    await checkInputFile(labelsPath);
    labels = (await readIdxLabelsFile(labelsPath, { maxItems: input.maxItems })).labels;
    if (labels.length !== images.count) {
      throw badInput(
        `${path.basename(labelsPath)}: has ${labels.length} labels but ${path.basename(imagesPath)} has ${images.count} images; they must match.`,
      );
    }
  }
  const items: ImportItem[] = Array.from({ length: images.count }, (_, row) => ({
    pixels: images.pixels.subarray(row * PIXELS_PER_IMAGE, (row + 1) * PIXELS_PER_IMAGE),
    label: labels ? labels[row]! : null,
    sourceRow: row,
  }));
  return importItemsInChunks(db, {
    catalogueSlug,
    kind: 'idx',
    source: sourceKey(imagesPath, fileHash),
    description: labelsPath ? `${imagesPath} + ${labelsPath}` : imagesPath,
    fileHash,
    evalRole,
    items,
    onProgress: input.onProgress,
    keepDuplicates: input.keepDuplicates,
  });
}

const ImportCsvInput = z.object({ catalogueSlug: z.string().min(1), path: z.string().min(1), evalRole: EvalRole });

export async function importCsv(
  db: Db,
  input: z.infer<typeof ImportCsvInput> & { onProgress?: OnProgress; maxItems?: number; keepDuplicates?: boolean },
): Promise<ImportResult> {
  const { catalogueSlug, path: csvPath, evalRole } = parseInput(ImportCsvInput, input);
  const catalogue = await requireCatalogue(db, catalogueSlug);
  const file = await readInputFile(csvPath);
  const parsed = parseCsv(file.toString('utf8'), path.basename(csvPath), { numClasses: catalogue.classNames.length });
  if (input.maxItems !== undefined && parsed.count > input.maxItems) {
    throw new AppError(
      'too_large',
      `${path.basename(csvPath)}: has ${parsed.count} rows; one upload may hold at most ${input.maxItems}. Split the file, or import it on the server with npm run import.`,
    );
  }
  const fileHash = sha256Hex(file);
  const items: ImportItem[] = Array.from({ length: parsed.count }, (_, row) => ({
    pixels: parsed.pixels.subarray(row * PIXELS_PER_IMAGE, (row + 1) * PIXELS_PER_IMAGE),
    label: parsed.labels ? parsed.labels[row]! : null,
    // Data rows, 0-based, header excluded: the same numbering as IDX.
    sourceRow: row,
  }));
  return importItemsInChunks(db, {
    catalogueSlug,
    kind: 'csv',
    source: sourceKey(csvPath, fileHash),
    description: csvPath,
    fileHash,
    evalRole,
    items,
    onProgress: input.onProgress,
    keepDuplicates: input.keepDuplicates,
  });
}

const ImportImagesInput = z.object({
  catalogueSlug: z.string().min(1),
  paths: z.array(z.string().min(1)).min(1, 'give at least one image file or folder'),
  label: z.number().int().min(0).optional(),
  evalRole: EvalRole,
});

/** Imports image files (folders expand to their images); `label`, if given, applies to all. */
export async function importImages(
  db: Db,
  input: z.infer<typeof ImportImagesInput> & { onProgress?: OnProgress; keepDuplicates?: boolean },
): Promise<ImportResult> {
  const { catalogueSlug, paths, label, evalRole } = parseInput(ImportImagesInput, input);
  if (evalRole && label === undefined)
    throw badInput(`a ${evalRole} import needs trusted labels: give --label for these images.`);
  const { classNames } = await requireCatalogue(db, catalogueSlug);
  // Checked before decoding a folder of photos, not after.
  if (label !== undefined && label >= classNames.length) {
    throw badInput(
      `label ${label} is out of range; catalogue "${catalogueSlug}" has classes 0-${classNames.length - 1}.`,
    );
  }
  const decoded = await readImageFiles(paths);
  const hashes = decoded.map((image) => sha256Hex(image.pixels));
  const items: ImportItem[] = decoded.map((image, index) => ({
    pixels: image.pixels,
    label: label ?? null,
    sourceRow: 0,
    // Per file, keyed on the decoded pixels: the same picture imported again is recognised.
    source: sourceKey(image.source, hashes[index]!),
    externalId: path.basename(image.source, path.extname(image.source)),
  }));
  const description = decoded.length === 1 ? decoded[0]!.source : `${decoded.length} images from ${paths.join(', ')}`;
  return importItemsInChunks(db, {
    catalogueSlug,
    kind: 'images',
    source: description,
    fileHash: sha256Hex(Buffer.from(hashes.join('\n'))),
    evalRole,
    items,
    onProgress: input.onProgress,
    keepDuplicates: input.keepDuplicates,
  });
}
