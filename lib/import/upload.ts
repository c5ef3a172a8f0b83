import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { and, eq, notExists } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '@/db/client';
import { catalogues, IMPORT_KINDS, imports, items, type Catalogue, type ImportKind } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { getEnv } from '@/lib/env';
import { AppError, badInput, isAppError } from '@/lib/errors';
import { EnsureCatalogueInput, ensureCatalogue, findCatalogue, requireCatalogue } from '../catalogues';
import { importCsv, importIdx, importImages } from './files';
import type { ImportResult } from './items';
import { parseInput } from '@/lib/validate';
import { MAX_UPLOAD_BYTES, MAX_UPLOAD_FILES, tooLargeMessage } from './upload-limits';

/** One file of a multipart upload, already read into memory. */
export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

export interface ImportUploadInput {
  actor: Actor | null;
  /** An existing catalogue's slug, or a new one's when `create` is given. */
  catalogue: string;
  create?: { name: string; classNames: string[] };
  /** Inferred from the file names when absent (see `detectImportKind`). */
  kind?: ImportKind;
  files: UploadedFile[];
  /** IDX only: the labels file that goes with the images file. */
  labels?: UploadedFile;
  /** Images only: a class index given to every image. */
  label?: number;
  /** Import images already in the catalogue (same pixels) anyway; by default they are skipped and reported. */
  keepDuplicates?: boolean;
  /** Defaults to MAX_UPLOAD_BYTES; tests lower it. */
  maxBytes?: number;
}

export interface UploadImportResult extends ImportResult {
  catalogue: Pick<Catalogue, 'id' | 'slug' | 'name'>;
  /** True when this upload created the catalogue. */
  created: boolean;
  kind: ImportKind;
  files: string[];
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

function kindOfName(name: string): ImportKind | null {
  const lower = name.toLowerCase();
  const extension = path.extname(lower);
  if (extension === '.csv') return 'csv';
  if (IMAGE_EXTENSIONS.has(extension)) return 'images';
  // Fashion-MNIST style names (train-images-idx3-ubyte[.gz]), .idx, or any gzip file.
  if (/idx\d|ubyte|\.idx$/.test(lower) || extension === '.gz') return 'idx';
  return null;
}

/**
 * Which importer a set of uploaded files goes to, from their names: `.csv` is CSV, `.png`,
 * `.jpg`, `.jpeg` and `.webp` are images, IDX names (`*-idx3-ubyte`, `.idx`) and `.gz` are
 * IDX. One kind per upload; a name that says nothing is refused rather than guessed at.
 */
export function detectImportKind(names: string[]): ImportKind {
  if (names.length === 0) throw badInput('Choose at least one file to import.');
  const kinds = names.map((name) => ({ name, kind: kindOfName(name) }));
  const unknown = kinds.find((k) => k.kind === null);
  if (unknown) {
    throw badInput(
      `${unknown.name}: cannot tell the format from the name; use .csv, .png/.jpg/.webp, or an IDX file (*-idx3-ubyte, optionally .gz), or choose the format.`,
    );
  }
  const first = kinds[0]!;
  const other = kinds.find((k) => k.kind !== first.kind);
  if (other)
    throw badInput(
      `${first.name} is ${first.kind} but ${other.name} is ${other.kind}; import one kind of file at a time.`,
    );
  return first.kind!;
}

/** Checks the files against the kind before anything touches the disk or the database. */
function checkFiles(input: ImportUploadInput, kind: ImportKind): void {
  const { files, labels, label } = input;
  if (files.length === 0) throw badInput('Choose at least one file to import.');
  if ((kind === 'csv' || kind === 'idx') && files.length > 1) {
    throw badInput(`A ${kind === 'csv' ? 'CSV' : 'IDX'} import takes one data file; ${files.length} were given.`);
  }
  if (kind === 'images' && files.length > MAX_UPLOAD_FILES) {
    throw badInput(`${files.length} images were given; one upload may hold at most ${MAX_UPLOAD_FILES}.`);
  }
  if (labels && kind !== 'idx') throw badInput('A labels file goes only with an IDX images file.');
  if (label !== undefined && kind !== 'images')
    throw badInput('A label for every file applies only to image imports; CSV and IDX files carry their own labels.');
  const maxBytes = input.maxBytes ?? MAX_UPLOAD_BYTES;
  const total = [...files, ...(labels ? [labels] : [])].reduce((sum, file) => sum + file.bytes.byteLength, 0);
  if (total > maxBytes) throw new AppError('too_large', tooLargeMessage(total, maxBytes));
  const empty = [...files, ...(labels ? [labels] : [])].find((file) => file.bytes.byteLength === 0);
  if (empty) throw badInput(`${empty.name}: the file is empty.`);
}

/** A file name safe to write in a temp folder, still recognisable in messages and provenance. */
function safeFileName(name: string): string {
  const base = path
    .basename(name.replaceAll('\\', '/'))
    .replace(/[^\w.\- ]/g, '_')
    .slice(-200);
  return base.replace(/^\.+/, '') || 'upload';
}

/**
 * The catalogue to import into. A new one is created only when its slug is free: "create"
 * with the slug of an existing catalogue is a conflict, never a silent import into it.
 */
async function resolveCatalogue(db: Db, input: ImportUploadInput): Promise<{ catalogue: Catalogue; created: boolean }> {
  if (!input.create) return { catalogue: await requireCatalogue(db, input.catalogue), created: false };
  const spec = parseInput(EnsureCatalogueInput, { slug: input.catalogue, ...input.create });
  const existing = await findCatalogue(db, spec.slug);
  if (existing)
    throw new AppError(
      'conflict',
      `A catalogue "${spec.slug}" already exists (${existing.name}); choose it from the list instead of creating it.`,
    );
  return { catalogue: await ensureCatalogue(db, spec), created: true };
}

/** Removes a catalogue this upload created, unless something has landed in it meanwhile. */
async function deleteIfEmpty(db: Db, catalogueId: number): Promise<void> {
  await db
    .delete(catalogues)
    .where(
      and(
        eq(catalogues.id, catalogueId),
        notExists(db.select({ id: items.id }).from(items).where(eq(items.catalogueId, catalogueId))),
      ),
    );
}

/** Error messages name the person's file, not where the server kept it for a moment. */
function withoutTempPaths(error: unknown, dir: string): unknown {
  if (!isAppError(error)) return error;
  const message = error.message.replace(
    new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\\\/]\\d+[\\\\/]`, 'g'),
    '',
  );
  return message === error.message ? error : new AppError(error.code, message, { cause: error });
}

function runImporter(
  db: Db,
  kind: ImportKind,
  options: { slug: string; paths: string[]; labelsPath?: string; label?: number; keepDuplicates?: boolean },
): Promise<ImportResult> {
  const { slug: catalogueSlug, paths, keepDuplicates } = options;
  // A web upload adds at most LOUPE_UPLOAD_MAX_ITEMS items: a small gzip may declare 300,000.
  const maxItems = getEnv().LOUPE_UPLOAD_MAX_ITEMS;
  if (kind === 'csv') return importCsv(db, { catalogueSlug, path: paths[0]!, maxItems, keepDuplicates });
  if (kind === 'idx') {
    const { labelsPath } = options;
    return importIdx(db, { catalogueSlug, imagesPath: paths[0]!, labelsPath, maxItems, keepDuplicates });
  }
  return importImages(db, { catalogueSlug, paths, label: options.label, keepDuplicates });
}

/**
 * Imports uploaded files the way `npm run import` imports files on disk: the upload is written
 * to a private temp folder, handed to the importer for its kind (one transaction: a bad file
 * imports nothing), and the folder is removed whatever happens. A catalogue created for this
 * upload is removed again when the import fails, so a bad file leaves no empty catalogue.
 */
export async function importUpload(db: Db, input: ImportUploadInput): Promise<UploadImportResult> {
  requirePermission(input.actor, 'catalogue.import');
  const kind = input.kind ?? detectImportKind(input.files.map((file) => file.name));
  parseInput(z.enum(IMPORT_KINDS), kind);
  checkFiles(input, kind);
  const { catalogue, created } = await resolveCatalogue(db, input);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-upload-'));
  try {
    const write = async (file: UploadedFile, index: number): Promise<string> => {
      // One sub-folder per file: two uploaded photos may share a name. (The comment keeps
      // Next's build from tracing the whole project for this runtime temp path.)
      const filePath = path.join(/*turbopackIgnore: true*/ dir, String(index), safeFileName(file.name));
      await fs.mkdir(path.dirname(filePath));
      await fs.writeFile(filePath, file.bytes);
      return filePath;
    };
    const paths = await Promise.all(input.files.map(write));
    const labelsPath = input.labels ? await write(input.labels, input.files.length) : undefined;
    const result = await runImporter(db, kind, {
      slug: catalogue.slug,
      paths,
      labelsPath,
      label: input.label,
      keepDuplicates: input.keepDuplicates,
    });
    const names = [...input.files, ...(input.labels ? [input.labels] : [])].map((file) => safeFileName(file.name));
    // The importer recorded the temp paths; the audit trail should show what was uploaded.
    const description =
      names.length <= 3 ? names.join(' + ') : `${names.length} files (${names.slice(0, 2).join(', ')}, ...)`;
    await db
      .update(imports)
      .set({ source: `upload: ${description}` })
      .where(eq(imports.id, result.importId));
    return {
      ...result,
      catalogue: { id: catalogue.id, slug: catalogue.slug, name: catalogue.name },
      created,
      kind,
      files: names,
    };
  } catch (error) {
    if (created) await deleteIfEmpty(db, catalogue.id);
    throw withoutTempPaths(error, dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const UploadFields = z.object({
  catalogue: z.string().trim().min(1, 'choose a catalogue or enter the slug of a new one'),
  create: z.enum(['true', 'false', 'on', '1', '0', '']).optional(),
  name: z.string().optional(),
  classes: z.string().optional(),
  kind: z.union([z.enum(IMPORT_KINDS), z.literal('')]).optional(),
  label: z.union([z.literal(''), z.coerce.number().int().min(0, 'the label is a class index, 0 or more')]).optional(),
  keepDuplicates: z
    .enum(['true', 'false', 'on', '1', '0', ''], { error: 'keepDuplicates is true or false' })
    .optional(),
});

function isFile(value: FormDataEntryValue): value is File {
  // Browsers send an empty, nameless part for a file input left empty.
  return typeof value !== 'string' && !(value.size === 0 && value.name === '');
}

async function readFile(file: File): Promise<UploadedFile> {
  return { name: file.name || 'upload', bytes: new Uint8Array(await file.arrayBuffer()) };
}

/**
 * The multipart form of POST /api/v1/imports: `catalogue` (slug), `create` (true for a new
 * catalogue, with `name` and `classes`, one class name per line), `kind` (idx | csv | images,
 * optional), `file` (one or more), `labels` (IDX labels, optional), `label` (images, optional),
 * `keepDuplicates` (true to import images already in the catalogue; by default they are skipped).
 */
export async function parseUploadForm(form: FormData): Promise<Omit<ImportUploadInput, 'actor' | 'maxBytes'>> {
  const text = (key: string) => {
    const value = form.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  const fields = parseInput(UploadFields, {
    catalogue: text('catalogue') ?? '',
    create: text('create'),
    name: text('name'),
    classes: text('classes'),
    kind: text('kind'),
    label: text('label'),
    keepDuplicates: text('keepDuplicates'),
  });
  const create = fields.create === 'true' || fields.create === 'on' || fields.create === '1';
  const labelsEntry = form.get('labels');
  return {
    catalogue: fields.catalogue,
    create: create
      ? {
          name: fields.name?.trim() || fields.catalogue,
          classNames: (fields.classes ?? '')
            .split(/\r?\n/)
            .map((line) => line.trim())
            .filter((line) => line.length > 0),
        }
      : undefined,
    kind: fields.kind || undefined,
    files: await Promise.all(form.getAll('file').filter(isFile).map(readFile)),
    labels: labelsEntry !== null && isFile(labelsEntry) ? await readFile(labelsEntry) : undefined,
    label: typeof fields.label === 'number' ? fields.label : undefined,
    keepDuplicates: fields.keepDuplicates === 'true' || fields.keepDuplicates === 'on' || fields.keepDuplicates === '1',
  };
}
