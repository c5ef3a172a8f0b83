import fs from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { count, eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogues, imports, items, settings } from '@/db/schema';
import { readFormWithLimit } from '@/lib/http/read-form';
import { getImportStatus, listRecentImports } from '@/lib/import/status';
import { detectImportKind, importUpload, parseUploadForm, type UploadedFile } from '@/lib/import/upload';
import { tooLargeMessage } from '@/lib/import/upload-limits';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-upload-test-');
afterAll(tmp.cleanup);

const NEW = { name: 'Shoes', classNames: ['boot', 'sandal', 'sneaker'] };

function csv(rows: number[][]): UploadedFile {
  const text = rows.map(([label, fill]) => [label, ...Array<number>(784).fill(fill!)].join(',')).join('\n');
  return {
    name: 'shoes.csv',
    bytes: Buffer.from(`label,${Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`).join(',')}\n${text}\n`),
  };
}

function idx(n: number): { images: UploadedFile; labels: UploadedFile } {
  const images = new Uint8Array(16 + n * 784);
  const view = new DataView(images.buffer);
  [0x803, n, 28, 28].forEach((v, i) => view.setUint32(i * 4, v));
  for (let i = 0; i < n; i++) images.fill(i * 10, 16 + i * 784, 16 + (i + 1) * 784);
  const labels = new Uint8Array(8 + n);
  new DataView(labels.buffer).setUint32(0, 0x801);
  new DataView(labels.buffer).setUint32(4, n);
  labels.set(
    Array.from({ length: n }, (_, i) => i % 3),
    8,
  );
  return {
    images: { name: 'x-idx3-ubyte.gz', bytes: gzipSync(images) },
    labels: { name: 'y-idx1-ubyte', bytes: labels },
  };
}

async function counts(f: Fixture, slug: string): Promise<{ items: number; imports: number } | null> {
  const catalogue = await f.db.select().from(catalogues).where(eq(catalogues.slug, slug)).limit(1).then(firstRow);
  if (!catalogue) return null;
  return {
    items: (await f.db
      .select({ n: count() })
      .from(items)
      .where(eq(items.catalogueId, catalogue.id))
      .limit(1)
      .then(firstRow))!.n,
    imports: (await f.db
      .select({ n: count() })
      .from(imports)
      .where(eq(imports.catalogueId, catalogue.id))
      .limit(1)
      .then(firstRow))!.n,
  };
}

function leftoverTempDirs(): string[] {
  return fs
    .readdirSync(os.tmpdir())
    .filter((name) => name.startsWith('loupe-upload-') && !name.startsWith('loupe-upload-test-'));
}

describe('detectImportKind', () => {
  it('maps names to importers and refuses mixes and unknown names', async () => {
    expect(detectImportKind(['data.CSV'])).toBe('csv');
    expect(detectImportKind(['a.png', 'b.JPG', 'c.jpeg', 'd.webp'])).toBe('images');
    expect(detectImportKind(['t10k-images-idx3-ubyte'])).toBe('idx');
    expect(detectImportKind(['t10k-images-idx3-ubyte.gz'])).toBe('idx');
    expect(detectImportKind(['images.idx'])).toBe('idx');
    await expectAppError(() => detectImportKind(['a.csv', 'b.png']), 'bad_input', /a\.csv is csv but b\.png is images/);
    await expectAppError(() => detectImportKind(['notes.txt']), 'bad_input', /notes\.txt: cannot tell the format/);
    await expectAppError(() => detectImportKind([]), 'bad_input');
  });
});

describe('importUpload', () => {
  it('creates a catalogue and imports a CSV into it, and re-importing adds nothing', async () => {
    const f = await makeFixture(tmp.dir, []);
    const result = await importUpload(f.db, {
      actor: f.admin,
      catalogue: 'shoes',
      create: NEW,
      files: [
        csv([
          [0, 1],
          [2, 2],
          [1, 3],
        ]),
      ],
    });
    expect(result).toMatchObject({
      created: true,
      kind: 'csv',
      total: 3,
      inserted: 3,
      alreadyPresent: 0,
      catalogue: { slug: 'shoes', name: 'Shoes' },
      files: ['shoes.csv'],
    });
    expect(await counts(f, 'shoes')).toEqual({ items: 3, imports: 1 });
    const catalogue = (await f.db
      .select()
      .from(catalogues)
      .where(eq(catalogues.slug, 'shoes'))
      .limit(1)
      .then(firstRow))!;
    expect(catalogue.classNames).toEqual(NEW.classNames);
    expect(
      await f.db.select().from(settings).where(eq(settings.catalogueId, catalogue.id)).limit(1).then(firstRow),
    ).toBeDefined();
    expect(
      (await f.db.select().from(imports).where(eq(imports.id, result.importId)).limit(1).then(firstRow))!.source,
    ).toBe('upload: shoes.csv');

    const again = await importUpload(f.db, {
      actor: f.admin,
      catalogue: 'shoes',
      files: [
        csv([
          [0, 1],
          [2, 2],
          [1, 3],
        ]),
      ],
    });
    expect(again).toMatchObject({ created: false, inserted: 0, alreadyPresent: 3 });
    expect(await counts(f, 'shoes')).toEqual({ items: 3, imports: 2 });
    expect(leftoverTempDirs()).toEqual([]);
  });

  it('imports IDX images with their labels, gzipped or raw', async () => {
    const f = await makeFixture(tmp.dir, []);
    const { images, labels } = idx(4);
    const result = await importUpload(f.db, {
      actor: f.admin,
      catalogue: 'shoes',
      create: NEW,
      files: [images],
      labels,
    });
    expect(result).toMatchObject({ kind: 'idx', inserted: 4 });
    expect(
      (await f.db.select({ label: items.importLabel }).from(items).where(eq(items.importId, result.importId))).map(
        (r) => r.label,
      ),
    ).toEqual([0, 1, 2, 0]);
    expect(
      (await f.db.select().from(imports).where(eq(imports.id, result.importId)).limit(1).then(firstRow))!.source,
    ).toBe('upload: x-idx3-ubyte.gz + y-idx1-ubyte');
  });

  it('imports several images, even two with the same name, with a label for all', async () => {
    const f = await makeFixture(tmp.dir, []);
    const shirt = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } })
      .composite([
        {
          input: await sharp({ create: { width: 20, height: 30, channels: 3, background: '#000000' } })
            .png()
            .toBuffer(),
          top: 5,
          left: 10,
        },
      ])
      .png()
      .toBuffer();
    const other = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#000000' } })
      .composite([
        {
          input: await sharp({ create: { width: 30, height: 10, channels: 3, background: '#ffffff' } })
            .png()
            .toBuffer(),
          top: 15,
          left: 5,
        },
      ])
      .png()
      .toBuffer();
    const result = await importUpload(f.db, {
      actor: f.admin,
      catalogue: 'demo',
      files: [
        { name: 'a.png', bytes: shirt },
        { name: 'a.png', bytes: other },
      ],
      label: 2,
    });
    expect(result).toMatchObject({ kind: 'images', inserted: 2 });
    expect(
      await f.db
        .select({ label: items.importLabel, externalId: items.externalId })
        .from(items)
        .where(eq(items.importId, result.importId)),
    ).toEqual([
      { label: 2, externalId: 'a' },
      { label: 2, externalId: 'a' },
    ]);
  });

  it('a bad file imports nothing, leaves no new catalogue, and names the file, not a temp path', async () => {
    const f = await makeFixture(tmp.dir, []);
    const bad = csv([
      [0, 1],
      [7, 2],
    ]);
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'shoes', create: NEW, files: [bad] }),
      'bad_input',
      /^shoes\.csv: .*label 7/,
    );
    expect(await counts(f, 'shoes')).toBeNull();

    const truncated = idx(3).images;
    truncated.bytes = gzipSync(Buffer.from([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]));
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'shoes', create: NEW, files: [truncated] }),
      'bad_input',
      /^x-idx3-ubyte\.gz: truncated/,
    );
    expect(await counts(f, 'shoes')).toBeNull();

    // An existing catalogue stays, with nothing added to it.
    const before = await counts(f, 'demo');
    await expectAppError(
      () =>
        importUpload(f.db, {
          actor: f.admin,
          catalogue: 'demo',
          files: [{ name: 'photo.png', bytes: Buffer.from('not an image at all') }],
        }),
      'bad_input',
      /^photo\.png: the file is not an image/,
    );
    expect(await counts(f, 'demo')).toEqual(before);
    expect(leftoverTempDirs()).toEqual([]);
  });

  it('refuses an upload over the size limit with 413 before writing anything', async () => {
    const f = await makeFixture(tmp.dir, []);
    await expectAppError(
      () =>
        importUpload(f.db, { actor: f.admin, catalogue: 'shoes', create: NEW, files: [csv([[0, 1]])], maxBytes: 1000 }),
      'too_large',
      /one import may be at most 1 KB in total/,
    );
    expect(await counts(f, 'shoes')).toBeNull();
  });

  it('refuses files that do not fit the kind, and a new catalogue whose slug is taken', async () => {
    const f = await makeFixture(tmp.dir, []);
    const file = csv([[0, 1]]);
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [file, file] }),
      'bad_input',
      /one data file/,
    );
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [file], labels: idx(1).labels }),
      'bad_input',
      /labels file goes only with an IDX/,
    );
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [file], label: 1 }),
      'bad_input',
      /only to image imports/,
    );
    await expectAppError(
      () =>
        importUpload(f.db, { actor: f.admin, catalogue: 'demo', files: [{ name: 'e.csv', bytes: new Uint8Array() }] }),
      'bad_input',
      /e\.csv: the file is empty/,
    );
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'demo', create: NEW, files: [file] }),
      'conflict',
      /already exists/,
    );
    await expectAppError(
      () => importUpload(f.db, { actor: f.admin, catalogue: 'Bad Slug', create: NEW, files: [file] }),
      'bad_input',
      /slug/,
    );
    await expectAppError(
      () =>
        importUpload(f.db, {
          actor: f.admin,
          catalogue: 'shoes',
          create: { name: 'S', classNames: ['one'] },
          files: [file],
        }),
      'bad_input',
      /at least 2 classes/,
    );
    await expectAppError(() => importUpload(f.db, { actor: f.admin, catalogue: 'nope', files: [file] }), 'not_found');
    expect(await counts(f, 'shoes')).toBeNull();
  });

  it('refuses every role but admin, and signed-out callers', async () => {
    const f = await makeFixture(tmp.dir, []);
    for (const actor of [f.reviewer, f.ops]) {
      await expectAppError(
        () => importUpload(f.db, { actor, catalogue: 'shoes', create: NEW, files: [csv([[0, 1]])] }),
        'forbidden',
      );
    }
    await expectAppError(
      () => importUpload(f.db, { actor: null, catalogue: 'shoes', create: NEW, files: [csv([[0, 1]])] }),
      'unauthorized',
    );
    expect(await counts(f, 'shoes')).toBeNull();
  });
});

describe('import status', () => {
  it('counts the import items by status and the catalogue backlog', async () => {
    const f = await makeFixture(tmp.dir, [{ unscored: true, status: 'unscored' }]);
    const result = await importUpload(f.db, {
      actor: f.admin,
      catalogue: 'demo',
      files: [
        csv([
          [0, 1],
          [1, 2],
        ]),
      ],
    });
    const status = await getImportStatus(f.db, result.importId);
    expect(status).toMatchObject({
      importId: result.importId,
      catalogue: { slug: 'demo' },
      kind: 'csv',
      total: 2,
      inserted: 2,
      catalogueUnscored: 3,
      activeModel: 'm1',
    });
    expect(status.items).toEqual({ unscored: 2, auto_accepted: 0, needs_review: 0, reviewed: 0 });
    expect((await listRecentImports(f.db)).map((r) => r.id)[0]).toBe(result.importId);
    await expectAppError(async () => await getImportStatus(f.db, 999), 'not_found');
  });
});

describe('parseUploadForm and readFormWithLimit', () => {
  it('reads the fields a browser sends, skipping empty file inputs', async () => {
    const form = new FormData();
    form.set('catalogue', ' shoes ');
    form.set('create', 'true');
    form.set('name', 'Shoes');
    form.set('classes', 'boot\r\n sandal \n\nsneaker\n');
    form.append('file', new File([Buffer.from('a,b')], 'x.csv'));
    form.set('labels', new File([], ''));
    form.set('label', '');
    expect(await parseUploadForm(form)).toEqual({
      catalogue: 'shoes',
      create: { name: 'Shoes', classNames: ['boot', 'sandal', 'sneaker'] },
      kind: undefined,
      files: [{ name: 'x.csv', bytes: new Uint8Array(Buffer.from('a,b')) }],
      labels: undefined,
      label: undefined,
      // No checkbox sent: images already in the catalogue are skipped.
      keepDuplicates: false,
    });
    const bad = new FormData();
    bad.set('catalogue', 'shoes');
    bad.set('kind', 'zip');
    await expectAppError(() => parseUploadForm(bad), 'bad_input', /kind/);
  });

  it('refuses a body over the limit by its declared length and while streaming', async () => {
    const form = new FormData();
    form.append('file', new File([new Uint8Array(5000)], 'big.csv'));
    const encoded = new Response(form);
    const bytes = new Uint8Array(await encoded.arrayBuffer());
    const headers = {
      'content-type': encoded.headers.get('content-type')!,
      'content-length': String(bytes.byteLength),
    };
    const declared = new Request('http://x/', { method: 'POST', body: bytes, headers });
    await expectAppError(
      () => readFormWithLimit(declared, { maxBytes: 1000, describe: (n) => tooLargeMessage(n, 1000) }),
      'too_large',
      /The upload is 5 KB; one import may be at most 1 KB/,
    );

    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(500));
        controller.close();
      },
    });
    const streamed = new Request('http://x/', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      duplex: 'half',
    } as RequestInit);
    await expectAppError(
      () => readFormWithLimit(streamed, { maxBytes: 1000, describe: (n) => tooLargeMessage(n, 1000) }),
      'too_large',
      /larger than 1 KB/,
    );

    const small = new Request('http://x/', { method: 'POST', body: form });
    expect((await readFormWithLimit(small, { maxBytes: 10_000, describe: String })).get('file')).toBeInstanceOf(File);
  });
});
