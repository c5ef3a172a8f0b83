import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items } from '@/db/schema';
import { listItems } from '@/lib/catalogue/browse';
import { csvField, EXPORT_COLUMNS, exportLabels } from '@/lib/catalogue/export';
import { claimNext } from '@/lib/review/queue';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';

const tmp = tempDir('loupe-export-');
afterAll(tmp.cleanup);

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);
const NOW = new Date(Date.UTC(2025, 5, 6, 7, 8, 9, 123));
let f: Fixture;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [
    { predictedClass: 1, confidence: 0.3 }, // 0: corrected to 2 by the reviewer
    { predictedClass: 0, confidence: 0.35 }, // 1: confirmed by reviewer2, then undone
    { predictedClass: 3, confidence: 0.95, status: 'auto_accepted' }, // 2
    { unscored: true, status: 'unscored' }, // 3
    { predictedClass: 4, confidence: 0.5, importLabel: 4, status: 'auto_accepted' }, // 4: label from the file
    { predictedClass: 2, confidence: 0.9, status: 'auto_accepted' }, // 5
  ]);
  const first = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 }))!;
  expect(first.itemId).toBe(f.itemIds[0]);
  await submitReview(f.db, {
    actor: f.reviewer,
    itemId: first.itemId,
    action: 'correct',
    label: 2,
    clientId: 'export-correct-0',
    durationMs: 1500,
    now: T0,
  });
  const second = (await claimNext(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 1000 }))!;
  expect(second.itemId).toBe(f.itemIds[1]);
  await submitReview(f.db, {
    actor: f.reviewer2,
    itemId: second.itemId,
    action: 'confirm',
    clientId: 'export-confirm-1',
    durationMs: 900,
    now: T0 + 1000,
  });
  await undoLastReview(f.db, { actor: f.reviewer2, clientId: 'export-undo-1', now: T0 + 2000 });
  // Text that a naive CSV writer or a spreadsheet would get wrong.
  await f.db.update(items).set({ source: 'file, with comma.csv' }).where(eq(items.id, f.itemIds[0]!));
  await f.db.update(items).set({ externalId: 'a,b "c"\nd' }).where(eq(items.id, f.itemIds[2]!));
  await f.db.update(items).set({ externalId: '=HYPERLINK("http://evil.example")' }).where(eq(items.id, f.itemIds[4]!));
  await f.db.update(items).set({ externalId: 'plain-id' }).where(eq(items.id, f.itemIds[5]!));
});

/** A small RFC 4180 reader, independent of the writer under test. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) throw new Error('the CSV does not end with CRLF');
  return rows;
}

async function exportText(format: 'csv' | 'json', options: { chunkRows?: number } = {}) {
  const result = await exportLabels(f.db, { catalogue: 'demo', format, actor: f.ops, now: NOW, ...options });
  return { ...result, text: await new Response(result.body).text() };
}

async function csvRecords(options: { chunkRows?: number } = {}): Promise<Record<string, string>[]> {
  const [header, ...rows] = parseCsv((await exportText('csv', options)).text);
  expect(header).toEqual(EXPORT_COLUMNS.map((c) => c.header));
  return rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]!])));
}

describe('exportLabels', () => {
  it('writes one CSV row per item with the current label and its provenance', async () => {
    const records = await csvRecords();
    expect(records.map((r) => Number(r.item_id))).toEqual(f.itemIds);
    const [corrected, undone, auto, unscored, imported] = records;
    expect(corrected).toMatchObject({
      source: 'file, with comma.csv',
      source_row: '0',
      label: '2',
      label_name: 'two',
      label_source: 'human',
      status: 'reviewed',
      predicted: '1',
      predicted_name: 'one',
      confidence: '0.3',
      model_version: 'm1',
      reviewed_by: f.reviewer.email,
      reviewed_at: new Date(T0).toISOString(),
    });
    // The confirm was undone: the label is the model's again and nobody is named.
    expect(undone).toMatchObject({
      label: '0',
      label_source: 'model',
      status: 'needs_review',
      reviewed_by: '',
      reviewed_at: '',
    });
    expect(auto).toMatchObject({
      external_id: 'a,b "c"\nd',
      label_name: 'three',
      label_source: 'model',
      status: 'auto_accepted',
      confidence: '0.95',
    });
    expect(unscored).toMatchObject({
      label: '',
      label_name: '',
      label_source: '',
      status: 'unscored',
      predicted: '',
      confidence: '',
      model_version: '',
    });
    // A formula is shown as text by spreadsheets: a leading apostrophe.
    expect(imported).toMatchObject({
      external_id: `'=HYPERLINK("http://evil.example")`,
      label: '4',
      label_source: 'import',
    });
  });

  it('writes the same content as JSON, with values kept exact', async () => {
    const { text, contentType } = await exportText('json');
    expect(contentType).toMatch(/^application\/json/);
    const parsed = JSON.parse(text) as {
      catalogue: { slug: string; classNames: string[] };
      activeModel: string;
      exportedAt: string;
      items: Record<string, unknown>[];
    };
    expect(parsed.catalogue.slug).toBe('demo');
    expect(parsed.activeModel).toBe('m1');
    expect(parsed.exportedAt).toBe(NOW.toISOString());
    expect(parsed.items.map((i) => i.itemId)).toEqual(f.itemIds);
    expect(parsed.items[0]).toMatchObject({
      currentLabel: 2,
      currentLabelName: 'two',
      labelSource: 'human',
      predictedClass: 1,
      confidence: 0.3,
      modelVersion: 'm1',
      reviewedBy: f.reviewer.email,
      reviewedAt: new Date(T0).toISOString(),
    });
    expect(parsed.items[3]).toMatchObject({
      currentLabel: null,
      predictedClass: null,
      modelVersion: null,
      reviewedBy: null,
    });
    expect(parsed.items[4]!.externalId).toBe('=HYPERLINK("http://evil.example")');
  });

  it('streams in chunks without losing or repeating a row, whatever the chunk size', async () => {
    const whole = await csvRecords();
    const wholeJson = JSON.parse((await exportText('json')).text) as unknown;
    for (const chunkRows of [1, 2, 4, 6, 7]) {
      expect(await csvRecords({ chunkRows }), `csv, ${chunkRows} rows a chunk`).toEqual(whole);
      expect(JSON.parse((await exportText('json', { chunkRows })).text), `json, ${chunkRows} rows a chunk`).toEqual(
        wholeJson,
      );
    }
  });

  it('names the file after the catalogue and the time', async () => {
    expect((await exportText('csv')).filename).toBe('demo-labels-2025-06-06T07-08-09Z.csv');
    expect((await exportText('json')).filename).toBe('demo-labels-2025-06-06T07-08-09Z.json');
    expect((await exportText('csv')).contentType).toBe('text/csv; charset=utf-8');
  });

  it('is for admin and ops only: a reviewer and a signed-out caller are refused before anything is read', async () => {
    expect((await exportLabels(f.db, { catalogue: 'demo', actor: f.admin })).filename).toMatch(/\.csv$/);
    await expectAppError(
      async () => await exportLabels(f.db, { catalogue: 'demo', actor: f.reviewer }),
      'forbidden',
      /export\.read/,
    );
    await expectAppError(async () => await exportLabels(f.db, { catalogue: 'demo', actor: null }), 'unauthorized');
  });

  it('exports exactly the items the browser shows for the same filter, in id order', async () => {
    const filters: Record<string, string | number>[] = [
      { status: 'auto_accepted' },
      { minConfidence: '0.4' },
      { predicted: 3 },
      { labelSource: 'human' },
      { status: 'needs_review', maxConfidence: 0.4 },
      { label: '', status: '' },
    ];
    for (const filter of filters) {
      const shown = (await listItems(f.db, { catalogue: 'demo', actor: f.ops, pageSize: 200, ...filter })).rows
        .map((row) => row.id)
        .sort((a, b) => a - b);
      const file = await exportLabels(f.db, {
        catalogue: 'demo',
        actor: f.ops,
        format: 'csv',
        chunkRows: 2,
        ...filter,
      });
      const [, ...rows] = parseCsv(await new Response(file.body).text());
      expect(
        rows.map((row) => Number(row[0])),
        JSON.stringify(filter),
      ).toEqual(shown);
    }
    // A prediction filter leaves out the item the model has not scored, as the browser does.
    const confident = await new Response(
      (await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, format: 'json', minConfidence: 0 })).body,
    ).json();
    expect(confident.items.map((item: { itemId: number }) => item.itemId)).not.toContain(f.itemIds[3]);
    expect(confident.items).toHaveLength(5);
  });

  it('names a filtered export apart, and refuses a filter the browser would refuse', async () => {
    const file = await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, status: 'reviewed', now: NOW });
    expect(file.filename).toBe('demo-labels-filtered-2025-06-06T07-08-09Z.csv');
    await expectAppError(
      async () => await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, status: 'bogus' }),
      'bad_input',
      /^status: status is one of/,
    );
    await expectAppError(
      async () =>
        await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, minConfidence: 0.9, maxConfidence: '0.1' }),
      'bad_input',
      /minConfidence cannot be above maxConfidence/,
    );
    await expectAppError(
      async () => await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, predicted: '-1' }),
      'bad_input',
      /^predicted:/,
    );
    // The permission comes first: a reviewer learns nothing from a bad filter either.
    await expectAppError(
      async () => await exportLabels(f.db, { catalogue: 'demo', actor: f.reviewer, status: 'bogus' }),
      'forbidden',
    );
  });

  it('refuses an unknown format or catalogue', async () => {
    await expectAppError(
      async () => await exportLabels(f.db, { catalogue: 'demo', actor: f.ops, format: 'xlsx' }),
      'bad_input',
      /csv or json/,
    );
    await expectAppError(async () => await exportLabels(f.db, { catalogue: 'missing', actor: f.ops }), 'not_found');
  });
});

describe('csvField', () => {
  it('quotes commas, quotes and line breaks, and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');
    expect(csvField(0.125)).toBe('0.125');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    for (const risky of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx']) expect(csvField(risky)).toBe(`'${risky}`);
    expect(csvField('=a,b')).toBe(`"'=a,b"`);
    expect(csvField('a=b')).toBe('a=b');
  });

  it('defuses a formula after any separator a spreadsheet may split the cell on, not only at the start', () => {
    expect(csvField('a;=1+1')).toBe("a;'=1+1");
    expect(csvField('x,@SUM(A1)')).toBe(`"x,'@SUM(A1)"`);
    expect(csvField('tab\t-1')).toBe("tab\t'-1");
    expect(csvField('pipe| +cmd')).toBe("pipe| '+cmd");
    expect(csvField('line\n=HYPERLINK("x")')).toBe(`"line\n'=HYPERLINK(""x"")"`);
    // Hyphens and signs inside words or after spaces are text to every spreadsheet: untouched.
    expect(csvField('T-shirt/top')).toBe('T-shirt/top');
    expect(csvField('a - b')).toBe('a - b');
  });
});
