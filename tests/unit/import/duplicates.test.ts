/**
 * The same images imported twice under another file name (or format) are found by the hash of
 * their pixels within a catalogue: reported with the items they match and skipped, unless the
 * caller asks to keep them. Within one file the first copy is kept and the rest reported the same way.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { asc, count, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items } from '@/db/schema';
import { ensureCatalogue, importCsv, importIdx, importItems } from '@/lib/import';
import { describeDuplicates } from '@/lib/import/duplicates';
import { importUpload, parseUploadForm } from '@/lib/import/upload';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { parseImportArgs, summarizeImport } from '@/scripts/import';
import { makeFixture, tempDir } from '../review/fixtures';

const tmp = tempDir('loupe-duplicates-');
afterAll(tmp.cleanup);

async function freshDb(): Promise<Db> {
  const db = openDb(path.join(tmp.dir, `${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  await ensureCatalogue(db, { slug: 'fashion', name: 'Fashion', classNames: [...FASHION_MNIST_CLASSES] });
  await ensureCatalogue(db, { slug: 'other', name: 'Other', classNames: [...FASHION_MNIST_CLASSES] });
  return db;
}

/** Image r of every file here: r in the first two pixels, so images differ and files agree. */
function pixelRow(r: number): number[] {
  return Array.from({ length: 784 }, (_, i) => (i === 0 ? r % 256 : i === 1 ? Math.floor(r / 256) : (i + 7 * r) % 256));
}

function writeCsv(name: string, rows: number[], labels = true): string {
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, rows.map((r, i) => (labels ? [i % 10, ...pixelRow(r)] : pixelRow(r)).join(',')).join('\n'));
  return file;
}

function writeIdx(name: string, rows: number[]): string {
  const bytes = new Uint8Array(16 + rows.length * 784);
  const view = new DataView(bytes.buffer);
  [0x803, rows.length, 28, 28].forEach((v, i) => view.setUint32(i * 4, v));
  rows.forEach((r, i) => bytes.set(pixelRow(r), 16 + i * 784));
  const file = path.join(tmp.dir, name);
  fs.writeFileSync(file, gzipSync(bytes));
  return file;
}

async function idsOf(db: Db, slug = 'fashion'): Promise<number[]> {
  const catalogue = await ensureCatalogue(db, { slug, name: slug, classNames: [...FASHION_MNIST_CLASSES] });
  return (
    await db.select({ id: items.id }).from(items).where(eq(items.catalogueId, catalogue.id)).orderBy(asc(items.id))
  ).map((row) => row.id);
}

describe('duplicate images on import', () => {
  it('skips the same images imported again under another file name, naming the items they match', async () => {
    const db = await freshDb();
    await importCsv(db, { catalogueSlug: 'fashion', path: writeCsv('monday.csv', [0, 1, 2]) });
    const first = await idsOf(db);
    const again = await importCsv(db, { catalogueSlug: 'fashion', path: writeCsv('tuesday.csv', [0, 1, 2, 3]) });
    expect(again).toMatchObject({
      total: 4,
      inserted: 1,
      alreadyPresent: 0,
      duplicates: 3,
      duplicateOf: first,
      duplicatesKept: false,
    });
    expect(await idsOf(db)).toHaveLength(4);
    expect(describeDuplicates(again)).toBe(
      `3 images already in the catalogue (items ${first.join(', ')}); they were skipped.`,
    );
  });

  it('finds them across formats (IDX then CSV) and only within one catalogue', async () => {
    const db = await freshDb();
    await importIdx(db, { catalogueSlug: 'fashion', imagesPath: writeIdx('a-idx3-ubyte.gz', [5, 6]) });
    const csv = writeCsv('a.csv', [5, 6], false);
    expect(await importCsv(db, { catalogueSlug: 'fashion', path: csv })).toMatchObject({ inserted: 0, duplicates: 2 });
    expect(await importCsv(db, { catalogueSlug: 'other', path: csv })).toMatchObject({ inserted: 2, duplicates: 0 });
  });

  it('keeps them when asked, and says so', async () => {
    const db = await freshDb();
    await importCsv(db, { catalogueSlug: 'fashion', path: writeCsv('one.csv', [0, 1]) });
    const kept = await importCsv(db, {
      catalogueSlug: 'fashion',
      path: writeCsv('two.csv', [1, 0]),
      keepDuplicates: true,
    });
    expect(kept).toMatchObject({ inserted: 2, duplicates: 2, duplicatesKept: true });
    expect(await idsOf(db)).toHaveLength(4);
    expect(describeDuplicates(kept)).toMatch(
      /^2 images already in the catalogue \(items \d+, \d+\); they were imported again as asked\.$/,
    );
  });

  it('within one file keeps the first copy and reports the rest the same way', async () => {
    const db = await freshDb();
    const result = await importCsv(db, { catalogueSlug: 'fashion', path: writeCsv('twice.csv', [0, 1, 0, 0]) });
    const [firstCopy] = await idsOf(db);
    expect(result).toMatchObject({ total: 4, inserted: 2, duplicates: 2, duplicateOf: [firstCopy] });
    expect(describeDuplicates(result)).toBe(
      `2 images already in the catalogue (item ${firstCopy}); they were skipped.`,
    );
    // A chunk boundary (500 rows) between the copies changes nothing.
    const long = Array.from({ length: 620 }, (_, i) => 10 + i);
    long[600] = 10;
    const chunked = await importItems(db, {
      catalogueSlug: 'other',
      kind: 'idx',
      source: 'long',
      items: long.map((r, row) => ({ pixels: Uint8Array.from(pixelRow(r)), label: null, sourceRow: row })),
    });
    expect(chunked).toMatchObject({
      total: 620,
      inserted: 619,
      duplicates: 1,
      duplicateOf: [(await idsOf(db, 'other'))[0]],
    });
  });

  it('the same file imported again is "already present", not a duplicate; lists stop after five ids', async () => {
    const db = await freshDb();
    const file = writeCsv('same.csv', [0, 1, 2, 3, 4, 5, 6]);
    await importCsv(db, { catalogueSlug: 'fashion', path: file });
    expect(await importCsv(db, { catalogueSlug: 'fashion', path: file })).toMatchObject({
      inserted: 0,
      alreadyPresent: 7,
      duplicates: 0,
    });
    const renamed = await importCsv(db, {
      catalogueSlug: 'fashion',
      path: writeCsv('renamed.csv', [0, 1, 2, 3, 4, 5, 6]),
    });
    const ids = await idsOf(db);
    expect(renamed).toMatchObject({ duplicates: 7, duplicateOf: ids.slice(0, 5) });
    expect(describeDuplicates(renamed)).toBe(
      `7 images already in the catalogue (items ${ids.slice(0, 5).join(', ')}, ...); they were skipped.`,
    );
    expect(renamed.duplicateItems).toBe(7);
    expect(describeDuplicates({ ...renamed, duplicates: 0, duplicateItems: 0, duplicateOf: [] })).toBeNull();
  });

  it('the upload API skips them by default and keeps them with keepDuplicates=true', async () => {
    const f = await makeFixture(tmp.dir, []);
    const file = (name: string) => ({ name, bytes: fs.readFileSync(writeCsv(name, [0, 1])) });
    await importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [file('x.csv')] });
    const skipped = await importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [file('y.csv')] });
    expect(skipped).toMatchObject({ inserted: 0, duplicates: 2, duplicatesKept: false });

    const form = new FormData();
    form.set('catalogue', 'demo');
    form.set('keepDuplicates', 'true');
    form.set('file', new File([file('z.csv').bytes], 'z.csv'));
    const parsed = await parseUploadForm(form);
    expect(parsed.keepDuplicates).toBe(true);
    const kept = await importUpload(f.db, { ...parsed, actor: f.admin });
    expect(kept).toMatchObject({ inserted: 2, duplicates: 2, duplicatesKept: true });
    expect((await f.db.select({ n: count() }).from(items).limit(1).then(firstRow))!.n).toBe(4);
    form.set('keepDuplicates', 'maybe');
    await expect(parseUploadForm(form)).rejects.toThrow(/keepDuplicates/);
  });

  it('npm run import takes --keep-duplicates and prints the sentence', () => {
    expect(parseImportArgs(['--catalogue', 'c', '--csv', 'f.csv'])).toMatchObject({ keepDuplicates: false });
    expect(parseImportArgs(['--catalogue', 'c', '--csv', 'f.csv', '--keep-duplicates'])).toMatchObject({
      keepDuplicates: true,
    });
    const line = summarizeImport(
      { catalogue: 'c', holdout: false, gold: false },
      {
        importId: 9,
        catalogueId: 1,
        total: 5,
        inserted: 2,
        alreadyPresent: 0,
        duplicates: 3,
        duplicateItems: 3,
        duplicateOf: [4, 5, 6],
        duplicatesKept: false,
      },
    );
    expect(line).toBe(
      'imported 5 items into c: 2 new, 0 already present (import #9). 3 images already in the catalogue (items 4, 5, 6); they were skipped (--keep-duplicates imports them anyway).',
    );
  });
});
