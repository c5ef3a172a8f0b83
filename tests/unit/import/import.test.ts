import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { count, eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb, type Db, firstRow } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { importRows, imports, items } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { ensureCatalogue, importCsv, importIdx, importImages, importItems, type ImportItem } from '@/lib/import';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { parseImportArgs } from '@/scripts/import';
import { onPostgres } from '../../test-database';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-import-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function freshDb(): Promise<Db> {
  const db = openDb(path.join(dir, `${Math.random().toString(36).slice(2)}.db`));
  await migrateDb(db);
  await ensureCatalogue(db, { slug: 'fashion', name: 'Fashion', classNames: [...FASHION_MNIST_CLASSES] });
  return db;
}

async function itemCount(db: Db): Promise<number> {
  return (await db.select({ n: count() }).from(items).limit(1).then(firstRow))!.n;
}

/** n distinct images (i in the first two pixels): identical ones would be skipped as duplicates. */
function makeItems(n: number, label: (i: number) => number | null = (i) => i % 10): ImportItem[] {
  return Array.from({ length: n }, (_, i) => ({
    pixels: new Uint8Array(784).fill(i % 256).fill(Math.floor(i / 256), 1, 2),
    label: label(i),
    sourceRow: i,
  }));
}

function idxFiles(labels: number[]): { imagesPath: string; labelsPath: string } {
  const images = new Uint8Array(16 + labels.length * 784);
  const view = new DataView(images.buffer);
  [0x803, labels.length, 28, 28].forEach((v, i) => view.setUint32(i * 4, v));
  // Distinct images: identical ones would be skipped as duplicates.
  labels.forEach((_, i) => (images[16 + i * 784] = i + 1));
  const labelBuf = new Uint8Array(8 + labels.length);
  new DataView(labelBuf.buffer).setUint32(0, 0x801);
  new DataView(labelBuf.buffer).setUint32(4, labels.length);
  labelBuf.set(labels, 8);
  const imagesPath = path.join(dir, `images-${labels.length}-idx3-ubyte.gz`);
  const labelsPath = path.join(dir, `labels-${labels.length}-idx1-ubyte`);
  fs.writeFileSync(imagesPath, gzipSync(images));
  fs.writeFileSync(labelsPath, labelBuf);
  return { imagesPath, labelsPath };
}

describe('importItems', () => {
  it('writes items with import labels, unscored, in WAL mode', async () => {
    const db = await freshDb();
    if (!onPostgres) expect(db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
    const result = await importItems(db, {
      catalogueSlug: 'fashion',
      kind: 'idx',
      source: 'mem',
      items: makeItems(1200),
    });
    expect(result).toMatchObject({ total: 1200, inserted: 1200, alreadyPresent: 0 });
    const first = (await db.select().from(items).where(eq(items.sourceRow, 3)).limit(1).then(firstRow))!;
    expect(first).toMatchObject({
      importLabel: 3,
      currentLabel: 3,
      labelSource: 'import',
      status: 'unscored',
      source: 'mem',
    });
    expect(first.pixels.length).toBe(784);
    expect(first.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await db.select().from(imports).limit(1).then(firstRow)).toMatchObject({
      itemCount: 1200,
      insertedCount: 1200,
      kind: 'idx',
    });
  });

  it('does not duplicate on re-import and counts what was already present', async () => {
    const db = await freshDb();
    await importItems(db, { catalogueSlug: 'fashion', kind: 'idx', source: 'mem', items: makeItems(10) });
    const again = await importItems(db, { catalogueSlug: 'fashion', kind: 'idx', source: 'mem', items: makeItems(15) });
    expect(again).toMatchObject({ total: 15, inserted: 5, alreadyPresent: 10 });
    expect(await itemCount(db)).toBe(15);
  });

  it('writes nothing when one row is bad, and names the row', async () => {
    const db = await freshDb();
    const list = makeItems(1500, (i) => (i === 1234 ? 10 : i % 10));
    await expect(
      async () => await importItems(db, { catalogueSlug: 'fashion', kind: 'csv', source: 'f.csv', items: list }),
    ).rejects.toThrow('f.csv, row 1234: label 10 is out of range; this catalogue has classes 0-9.');
    expect(await itemCount(db)).toBe(0);
    expect((await db.select({ n: count() }).from(imports).limit(1).then(firstRow))!.n).toBe(0);
  });

  it('rolls back earlier chunks when a later step fails', async () => {
    const db = await freshDb();
    const list = makeItems(5000);
    const progress: number[] = [];
    await expect(
      async () =>
        await importItems(db, {
          catalogueSlug: 'fashion',
          kind: 'idx',
          source: 'mem',
          items: list,
          onProgress: (done) => {
            progress.push(done);
            if (done >= 4000) throw new Error('disk full');
          },
        }),
    ).rejects.toThrow('disk full');
    expect(progress).toEqual([2000, 4000]);
    expect(await itemCount(db)).toBe(0);
    expect((await db.select({ n: count() }).from(imports).limit(1).then(firstRow))!.n).toBe(0);
    expect((await db.select({ n: count() }).from(importRows).limit(1).then(firstRow))!.n).toBe(0);
  });

  it('rejects an unknown catalogue as not_found', async () => {
    const db = await freshDb();
    const err = await (async () => {
      try {
        await importItems(db, { catalogueSlug: 'nope', kind: 'idx', source: 'm', items: makeItems(1) });
      } catch (error) {
        return error as AppError;
      }
    })();
    expect(err?.code).toBe('not_found');
  });
});

describe('ensureCatalogue', () => {
  it('returns the existing catalogue and refuses a different class list', async () => {
    const db = await freshDb();
    const again = await ensureCatalogue(db, {
      slug: 'fashion',
      name: 'Other name',
      classNames: [...FASHION_MNIST_CLASSES],
    });
    expect(again.name).toBe('Fashion');
    await expect(
      async () => await ensureCatalogue(db, { slug: 'fashion', name: 'F', classNames: ['a', 'b'] }),
    ).rejects.toThrow(/cannot change/);
    await expect(
      async () => await ensureCatalogue(db, { slug: 'Bad Slug', name: 'F', classNames: ['a', 'b'] }),
    ).rejects.toThrow(/slug/);
  });
});

describe('file imports', () => {
  it('imports IDX with labels, and again from a copy without duplicating', async () => {
    const db = await freshDb();
    const files = idxFiles([9, 0, 3]);
    expect(await importIdx(db, { catalogueSlug: 'fashion', ...files })).toMatchObject({ inserted: 3 });
    const copy = path.join(dir, 'copy', path.basename(files.imagesPath));
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(files.imagesPath, copy);
    expect(await importIdx(db, { catalogueSlug: 'fashion', imagesPath: copy })).toMatchObject({
      inserted: 0,
      alreadyPresent: 3,
    });
    expect((await db.select().from(items)).map((i) => i.importLabel)).toEqual([9, 0, 3]);
  });

  it('rejects an IDX label count mismatch before writing', async () => {
    const db = await freshDb();
    const { imagesPath } = idxFiles([1, 2]);
    const { labelsPath } = idxFiles([1, 2, 3]);
    await expect(importIdx(db, { catalogueSlug: 'fashion', imagesPath, labelsPath })).rejects.toThrow(
      /has 3 labels but .* has 2 images/,
    );
    expect(await itemCount(db)).toBe(0);
  });

  it('imports CSV and rejects a bad one whole', async () => {
    const db = await freshDb();
    const good = path.join(dir, 'good.csv');
    fs.writeFileSync(
      good,
      `${[1, ...new Array(784).fill(0)].join(',')}\n${[2, ...new Array(784).fill(9)].join(',')}\n`,
    );
    expect(await importCsv(db, { catalogueSlug: 'fashion', path: good })).toMatchObject({ inserted: 2 });
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(
      bad,
      `${[1, ...new Array(784).fill(0)].join(',')}\n${[12, ...new Array(784).fill(9)].join(',')}\n`,
    );
    await expect(importCsv(db, { catalogueSlug: 'fashion', path: bad })).rejects.toThrow(
      'bad.csv: line 2, column 1: label 12 is out of range 0-9.',
    );
    expect(await itemCount(db)).toBe(2);
  });

  it('imports images with a shared label; a missing file is not_found', async () => {
    const db = await freshDb();
    const png = path.join(dir, 'shoe.png');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#ffffff' } })
      .composite([
        { input: { create: { width: 20, height: 10, channels: 3, background: '#000000' } }, left: 5, top: 5 },
      ])
      .png()
      .toFile(png);
    const result = await importImages(db, { catalogueSlug: 'fashion', paths: [png], label: 7 });
    expect(result).toMatchObject({ inserted: 1 });
    expect(await db.select().from(items).limit(1).then(firstRow)).toMatchObject({
      currentLabel: 7,
      externalId: 'shoe',
      sourceRow: 0,
    });
    await expect(
      importImages(db, { catalogueSlug: 'fashion', paths: [path.join(dir, 'gone.png')] }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(importImages(db, { catalogueSlug: 'fashion', paths: [png], label: 10 })).rejects.toThrow(
      'label 10 is out of range; catalogue "fashion" has classes 0-9.',
    );
  });
});

describe('parseImportArgs', () => {
  it('takes every path after --images', () => {
    const args = parseImportArgs(['--catalogue', 'c', '--images', 'a.png', 'b.png', 'dir', '--label', '3']);
    expect(args).toMatchObject({ catalogue: 'c', images: ['a.png', 'b.png', 'dir'], label: 3, create: false });
  });

  it('defaults the split and the class list, and splits --classes', () => {
    const plain = parseImportArgs(['--catalogue', 'c', '--idx', 'd']);
    expect(plain.split).toBe('t10k');
    expect(plain.classes).toBeUndefined();
    expect(
      parseImportArgs(['--catalogue', 'c', '--create', '--classes', 'cat, dog', '--csv', 'f.csv']).classes,
    ).toEqual(['cat', 'dog']);
  });

  it('requires exactly one source and known options', () => {
    expect(() => parseImportArgs(['--catalogue', 'c'])).toThrow(
      /exactly one of --idx, --images-file, --csv or --images/,
    );
    expect(() => parseImportArgs(['--catalogue', 'c', '--csv', 'a', '--idx', 'b'])).toThrow(/exactly one/);
    expect(() => parseImportArgs(['--catalogue', 'c', '--csv', 'a', 'stray'])).toThrow(/unexpected argument "stray"/);
    expect(() => parseImportArgs(['--catalogue', 'c', '--idx', 'd', '--split', 'test'])).toThrow(/--split/);
  });
});
