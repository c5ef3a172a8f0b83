import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items, modelVersions, predictions, type ItemStatus, type LabelSource } from '@/db/schema';
import { listItems, ListItemsInput, type ItemQuery } from '@/lib/catalogue/browse';
import { getItemDetail } from '@/lib/catalogue/item-detail';
import { describeScope } from '@/lib/catalogue/scope-sentence';
import { claimNext } from '@/lib/review/queue';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { ensureCatalogue, importItems } from '@/lib/import';
import { createRng } from '@/lib/ml/random';
import { CLASSES, expectAppError, makeFixture, tempDir, type Fixture, type FixtureItem } from '../review/fixtures';
import { onlyRow } from '@/db/client';

const tmp = tempDir('loupe-browse-');
afterAll(tmp.cleanup);

/** What the reference implementation needs to know of an item. */
interface Known {
  id: number;
  status: ItemStatus;
  currentLabel: number | null;
  labelSource: LabelSource | null;
  evalRole: 'holdout' | 'gold' | null;
  predictedClass: number | null;
  confidence: number | null;
}

let f: Fixture;
let known: Known[];

const STATUSES: ItemStatus[] = ['auto_accepted', 'needs_review', 'reviewed'];

beforeAll(async () => {
  const random = createRng(7);
  // Confidences on a coarse grid so that ties (broken by id) really happen.
  const specs: FixtureItem[] = Array.from({ length: 48 }, (_, i) =>
    i % 9 === 4
      ? { unscored: true, status: 'unscored' }
      : {
          predictedClass: Math.floor(random() * CLASSES.length),
          confidence: 0.2 + Math.floor(random() * 8) / 10,
          status: STATUSES[i % 3],
        },
  );
  f = await makeFixture(tmp.dir, specs);
  // Some human labels (a correction to the next class) and evaluation roles.
  for (const [i, id] of f.itemIds.entries()) {
    if (specs[i]!.status === 'reviewed')
      await f.db
        .update(items)
        .set({ labelSource: 'human', currentLabel: ((specs[i]!.predictedClass ?? 0) + (i % 2)) % CLASSES.length })
        .where(eq(items.id, id));
    if (i % 7 === 0)
      await f.db
        .update(items)
        .set({ evalRole: i % 14 === 0 ? 'holdout' : 'gold' })
        .where(eq(items.id, id));
  }
  // A retired model that scored every item differently: its answers must never show.
  const retired = await f.db
    .insert(modelVersions)
    .values({ catalogueId: f.catalogueId, name: 'm0', arch: 'test', weightsPath: '/nonexistent', status: 'retired' })
    .returning()
    .then(onlyRow);
  for (const id of f.itemIds)
    await f.db.insert(predictions).values({
      itemId: id,
      modelVersionId: retired.id,
      probs: [0.2, 0.2, 0.2, 0.2, 0.2],
      predictedClass: 4,
      confidence: 0.2,
      margin: 0,
    });
  // Another catalogue with its own active model: none of its items may leak in.
  const other = await ensureCatalogue(f.db, { slug: 'other', name: 'Other', classNames: ['a', 'b'] });
  await importItems(f.db, {
    catalogueSlug: 'other',
    kind: 'idx',
    source: 'other',
    items: Array.from({ length: 5 }, (_, i) => ({
      pixels: new Uint8Array(784).fill(200 + i),
      label: null,
      sourceRow: i,
    })),
  });
  const otherModel = await f.db
    .insert(modelVersions)
    .values({ catalogueId: other.id, name: 'o1', arch: 'test', weightsPath: '/nonexistent', status: 'active' })
    .returning()
    .then(onlyRow);
  for (const row of await f.db.select({ id: items.id }).from(items).where(eq(items.catalogueId, other.id))) {
    await f.db.insert(predictions).values({
      itemId: row.id,
      modelVersionId: otherModel.id,
      probs: [0.99, 0.01],
      predictedClass: 0,
      confidence: 0.99,
      margin: 0.98,
    });
    await f.db
      .update(items)
      .set({ status: 'auto_accepted', currentLabel: 0, labelSource: 'model' })
      .where(eq(items.id, row.id));
  }

  const active = new Map(
    (await f.db.select().from(predictions).where(eq(predictions.modelVersionId, f.modelVersionId))).map((p) => [
      p.itemId,
      p,
    ]),
  );
  known = (await f.db.select().from(items).where(eq(items.catalogueId, f.catalogueId)).orderBy(items.id)).map(
    (item) => ({
      id: item.id,
      status: item.status,
      currentLabel: item.currentLabel,
      labelSource: item.labelSource,
      evalRole: item.evalRole,
      predictedClass: active.get(item.id)?.predictedClass ?? null,
      confidence: active.get(item.id)?.confidence ?? null,
    }),
  );
});

/** SQLite's order: NULL below everything, text by code point. */
function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/** The documented semantics, written the slow and obvious way. */
function reference(query: ItemQuery, hideEvaluation = false): { ids: number[]; total: number } {
  const predictionFilter =
    query.predicted !== undefined || query.minConfidence !== undefined || query.maxConfidence !== undefined;
  const matching = known.filter(
    (k) =>
      (!hideEvaluation || k.evalRole === null) &&
      (query.status === undefined || k.status === query.status) &&
      (query.label === undefined || k.currentLabel === query.label) &&
      (query.labelSource === undefined || k.labelSource === query.labelSource) &&
      (query.evalRole === undefined || k.evalRole === query.evalRole) &&
      (!predictionFilter || k.confidence !== null) &&
      (query.predicted === undefined || k.predictedClass === query.predicted) &&
      (query.minConfidence === undefined || (k.confidence ?? -1) >= query.minConfidence) &&
      (query.maxConfidence === undefined || (k.confidence ?? 2) <= query.maxConfidence),
  );
  const sign = query.dir === 'asc' ? 1 : -1;
  const keys = (k: Known): (string | number | null)[] =>
    ({
      id: [],
      confidence: [k.confidence],
      predicted: [k.predictedClass, k.confidence],
      label: [k.currentLabel],
      labelSource: [k.labelSource],
      status: [k.status],
    })[query.sort];
  const byPrediction = query.sort === 'confidence' || query.sort === 'predicted';
  const sorted = [...matching].sort((a, b) => {
    // Items the active model has not scored come last in both directions.
    if (byPrediction && (a.confidence === null) !== (b.confidence === null)) return a.confidence === null ? 1 : -1;
    const ka = keys(a);
    const kb = keys(b);
    for (let i = 0; i < ka.length; i++) {
      const c = compareValues(ka[i]!, kb[i]!);
      if (c !== 0) return sign * c;
    }
    return sign * (a.id - b.id);
  });
  const start = (query.page - 1) * query.pageSize;
  return { ids: sorted.slice(start, start + query.pageSize).map((k) => k.id), total: matching.length };
}

async function check(input: Record<string, unknown>, actor = f.ops) {
  const page = await listItems(f.db, { catalogue: 'demo', actor, ...input });
  const expected = reference(ListItemsInput.parse({ catalogue: 'demo', ...input }), actor.role === 'reviewer');
  expect({ ids: page.rows.map((r) => r.id), total: page.total }, JSON.stringify(input)).toEqual(expected);
  return page;
}

describe('listItems', () => {
  it('pages through the catalogue in id order by default, with the active model answer and names', async () => {
    const page = await listItems(f.db, { catalogue: 'demo', actor: f.admin });
    expect(page.total).toBe(48);
    expect(page.rows.map((r) => r.id)).toEqual(f.itemIds);
    expect(page.activeModel).toEqual({ id: f.modelVersionId, name: 'm1' });
    expect(page.catalogue.classNames).toEqual(CLASSES);
    const first = page.rows[0]!;
    const k = known.find((x) => x.id === first.id)!;
    expect(first).toMatchObject({
      predictedClass: k.predictedClass,
      confidence: k.confidence,
      predictedClassName: CLASSES[k.predictedClass!],
      currentLabel: k.currentLabel,
      labelSource: k.labelSource,
    });
    const unscored = page.rows[4]!;
    expect(unscored).toMatchObject({
      status: 'unscored',
      predictedClass: null,
      predictedClassName: null,
      confidence: null,
      currentLabel: null,
    });
    // Every row carries the active model's answer, never the retired model's (class 4 at 0.2).
    expect(page.rows.map((r) => [r.predictedClass, r.confidence])).toEqual(
      known.map((k) => [k.predictedClass, k.confidence]),
    );
  });

  it('filters and sorts as the reference does, for every sort and direction, on every page', async () => {
    const filters: Record<string, unknown>[] = [
      {},
      { status: 'needs_review' },
      { status: 'unscored' },
      { label: 2 },
      { labelSource: 'human' },
      { evalRole: 'gold' },
      { predicted: 1 },
      { minConfidence: 0.5 },
      { maxConfidence: 0.4 },
      { minConfidence: 0.4, maxConfidence: 0.6 },
      { status: 'reviewed', predicted: 3 },
      { labelSource: 'model', maxConfidence: 0.7, label: 0 },
    ];
    let checked = 0;
    for (const filter of filters) {
      for (const sort of ['id', 'confidence', 'predicted', 'label', 'labelSource', 'status']) {
        for (const dir of ['asc', 'desc']) {
          for (const page of [1, 2, 3, 4]) {
            await check({ ...filter, sort, dir, page, pageSize: 7 });
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(12 * 6 * 2 * 4);
  });

  it('hides evaluation items (holdout and gold) from reviewers, whatever the filter and sort', async () => {
    expect(known.filter((k) => k.evalRole === 'gold').length).toBeGreaterThan(2);
    expect(known.filter((k) => k.evalRole === 'holdout').length).toBeGreaterThan(2);
    for (const filter of [
      {},
      { evalRole: 'gold' },
      { evalRole: 'holdout' },
      { status: 'needs_review' },
      { predicted: 1 },
      { minConfidence: 0.5 },
      { labelSource: 'model', maxConfidence: 0.7 },
    ]) {
      for (const sort of ['id', 'confidence', 'predicted', 'label']) {
        for (const dir of ['asc', 'desc']) {
          for (const page of [1, 2]) {
            const rows = (await check({ ...filter, sort, dir, page, pageSize: 9 }, f.reviewer)).rows;
            expect(rows.every((r) => r.evalRole === null)).toBe(true);
          }
        }
      }
    }
  });

  it('says what the count includes: reviewers are told of the holdout left out, never of gold', async () => {
    const holdout = known.filter((k) => k.evalRole === 'holdout').length;
    const gold = known.filter((k) => k.evalRole === 'gold').length;
    const plain = known.filter((k) => k.evalRole === null).length;

    const reviewer = await listItems(f.db, { catalogue: 'demo', actor: f.reviewer });
    expect(reviewer).toMatchObject({ total: plain, catalogueTotal: plain });
    expect(reviewer.scope).toEqual({ evaluationShown: false, holdout, gold: null });
    expect(describeScope(reviewer.scope)).toBe(`excluding ${holdout} holdout items`);

    const ops = await listItems(f.db, { catalogue: 'demo', actor: f.ops });
    expect(ops).toMatchObject({ total: 48, catalogueTotal: 48 });
    expect(ops.scope).toEqual({ evaluationShown: true, holdout, gold });
    expect(describeScope(ops.scope)).toBe(`including ${holdout} holdout and ${gold} gold items`);

    // Filtered: the total is the match, catalogueTotal what the reader may see of the catalogue.
    const filtered = await listItems(f.db, { catalogue: 'demo', actor: f.reviewer, status: 'needs_review' });
    expect(filtered.catalogueTotal).toBe(plain);
    expect(filtered.total).toBe(known.filter((k) => k.evalRole === null && k.status === 'needs_review').length);
    expect((await listItems(f.db, { catalogue: 'demo', actor: f.admin, status: 'needs_review' })).catalogueTotal).toBe(
      48,
    );
  });

  it('puts unscored items after the scored ones when sorting by confidence, across the page boundary', async () => {
    const scored = known.filter((k) => k.confidence !== null).length;
    const page = await check({ sort: 'confidence', dir: 'desc', page: 2, pageSize: scored - 2 });
    expect(page.rows.slice(0, 2).every((r) => r.confidence !== null)).toBe(true);
    expect(page.rows.slice(2).every((r) => r.confidence === null)).toBe(true);
    expect(page.rows.length).toBeGreaterThan(2);
  });

  it('treats the confidence bounds as inclusive', async () => {
    const page = await check({ minConfidence: 0.5, maxConfidence: 0.5, pageSize: 200 });
    expect(page.total).toBeGreaterThan(0);
    expect(page.rows.every((r) => r.confidence === 0.5)).toBe(true);
  });

  it('accepts query-string values and treats empty ones as absent', async () => {
    const page = await check({
      page: '2',
      pageSize: '5',
      sort: 'confidence',
      dir: 'desc',
      status: '',
      predicted: '',
      minConfidence: '0.3',
    });
    expect(page.query).toMatchObject({ page: 2, pageSize: 5, sort: 'confidence', dir: 'desc', minConfidence: 0.3 });
    expect(page.query.status).toBeUndefined();
  });

  it('returns no rows but the total past the last page', async () => {
    const page = await listItems(f.db, { catalogue: 'demo', actor: f.admin, page: 99, pageSize: 10 });
    expect(page.rows).toEqual([]);
    expect(page.total).toBe(48);
  });

  it('refuses bad input with a sentence naming the field', async () => {
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, pageSize: 500 }),
      'bad_input',
      /pageSize/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, page: 0 }),
      'bad_input',
      /page/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, sort: 'pixels' }),
      'bad_input',
      /sort is one of/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, status: 'done' }),
      'bad_input',
      /status/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, minConfidence: 0.8, maxConfidence: 0.2 }),
      'bad_input',
      /minConfidence/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, maxConfidence: 1.5 }),
      'bad_input',
      /maxConfidence/,
    );
    await expectAppError(
      async () => await listItems(f.db, { catalogue: 'demo', actor: f.ops, predicted: 'shirt' }),
      'bad_input',
      /predicted/,
    );
    await expectAppError(async () => await listItems(f.db, { catalogue: 'nope', actor: f.ops }), 'not_found', /nope/);
  });

  it('lets every role read, and refuses a signed-out caller', async () => {
    for (const actor of [f.admin, f.ops]) expect((await listItems(f.db, { catalogue: 'demo', actor })).total).toBe(48);
    // Reviewers read everything but the evaluation items: gold measures them, holdout the model.
    expect((await listItems(f.db, { catalogue: 'demo', actor: f.reviewer })).total).toBe(
      48 - known.filter((k) => k.evalRole !== null).length,
    );
    await expectAppError(async () => await listItems(f.db, { catalogue: 'demo', actor: null }), 'unauthorized');
  });

  it('shows null predictions without an active model: prediction sorts fall back to id, prediction filters match nothing', async () => {
    await f.db.update(modelVersions).set({ status: 'retired' }).where(eq(modelVersions.id, f.modelVersionId));
    try {
      const page = await listItems(f.db, {
        catalogue: 'demo',
        actor: f.ops,
        sort: 'confidence',
        dir: 'desc',
        pageSize: 3,
      });
      expect(page.activeModel).toBeNull();
      expect(page.total).toBe(48);
      expect(page.rows.map((r) => r.id)).toEqual([...f.itemIds].reverse().slice(0, 3));
      expect(page.rows.every((r) => r.predictedClass === null && r.confidence === null)).toBe(true);
      expect(await listItems(f.db, { catalogue: 'demo', actor: f.ops, predicted: 1 })).toMatchObject({
        total: 0,
        rows: [],
      });
    } finally {
      await f.db.update(modelVersions).set({ status: 'active' }).where(eq(modelVersions.id, f.modelVersionId));
    }
  });
});

describe('getItemDetail', () => {
  const T0 = Date.UTC(2025, 2, 3, 4, 5, 6);

  it('returns provenance, each model version answer (active first) and the review history, newest first', async () => {
    const g = await makeFixture(tmp.dir, [{ predictedClass: 1, confidence: 0.4 }]);
    const itemId = g.itemIds[0]!;
    const older = await g.db
      .insert(modelVersions)
      .values({
        catalogueId: g.catalogueId,
        name: 'm0',
        arch: 'lenet5',
        weightsPath: '/nonexistent',
        status: 'retired',
      })
      .returning()
      .then(onlyRow);
    const newer = await g.db
      .insert(modelVersions)
      .values({ catalogueId: g.catalogueId, name: 'm2', arch: 'cnn', weightsPath: '/nonexistent', status: 'candidate' })
      .returning()
      .then(onlyRow);
    await g.db.insert(predictions).values({
      itemId,
      modelVersionId: older.id,
      probs: [0.1, 0.2, 0.6, 0.05, 0.05],
      predictedClass: 2,
      confidence: 0.6,
      margin: 0.4,
    });
    await g.db.insert(predictions).values({
      itemId,
      modelVersionId: newer.id,
      probs: [0.7, 0.1, 0.1, 0.05, 0.05],
      predictedClass: 0,
      confidence: 0.7,
      margin: 0.6,
    });
    // reviewer confirms, undoes, then corrects; reviewer2 cannot claim it meanwhile.
    expect((await claimNext(g.db, { actor: g.reviewer, catalogueId: g.catalogueId, now: T0 }))!.itemId).toBe(itemId);
    await submitReview(g.db, {
      actor: g.reviewer,
      itemId,
      action: 'confirm',
      clientId: 'detail-confirm',
      durationMs: 1200,
      now: T0,
    });
    await undoLastReview(g.db, { actor: g.reviewer, clientId: 'detail-undo', now: T0 + 1000 });
    await submitReview(g.db, {
      actor: g.reviewer,
      itemId,
      action: 'correct',
      label: 3,
      clientId: 'detail-correct',
      durationMs: 3400,
      now: T0 + 2000,
    });

    const detail = await getItemDetail(g.db, { actor: g.ops, itemId, catalogue: 'demo' });
    expect(detail.catalogue).toEqual({ slug: 'demo', name: 'Demo', classNames: CLASSES });
    expect(detail.item).toMatchObject({
      id: itemId,
      source: 'fixture',
      sourceRow: 0,
      currentLabel: 3,
      currentLabelName: 'three',
      labelSource: 'human',
      status: 'reviewed',
    });
    expect(detail.predictions.map((p) => [p.modelName, p.modelStatus, p.predictedClassName, p.confidence])).toEqual([
      ['m1', 'active', 'one', 0.4],
      ['m2', 'candidate', 'zero', 0.7],
      ['m0', 'retired', 'two', 0.6],
    ]);
    expect(detail.predictions[2]!.probs).toEqual([0.1, 0.2, 0.6, 0.05, 0.05]);
    expect(
      detail.reviews.map((r) => [
        r.action,
        r.reviewerEmail,
        r.modelLabelName,
        r.chosenLabelName,
        r.durationMs,
        r.createdAt.getTime(),
        r.undone,
      ]),
    ).toEqual([
      ['correct', g.reviewer.email, 'one', 'three', 3400, T0 + 2000, false],
      ['undo', g.reviewer.email, 'one', null, 0, T0 + 1000, false],
      ['confirm', g.reviewer.email, 'one', 'one', 1200, T0, true],
    ]);
    expect(detail.reviews[1]!.revertsReviewId).toBe(detail.reviews[2]!.id);
    expect(detail.reviews[0]!.modelName).toBe('m1');
  });

  it('is not found in another catalogue, or when absent; a signed-out caller is refused', async () => {
    const itemId = known.find((k) => k.evalRole === null)!.id;
    expect((await getItemDetail(f.db, { actor: f.reviewer, itemId: String(itemId) })).item.id).toBe(itemId);
    await expectAppError(
      async () => await getItemDetail(f.db, { actor: f.reviewer, itemId, catalogue: 'other' }),
      'not_found',
      /in catalogue "other"/,
    );
    await expectAppError(async () => await getItemDetail(f.db, { actor: f.reviewer, itemId: 999_999 }), 'not_found');
    await expectAppError(
      async () => await getItemDetail(f.db, { actor: f.reviewer, itemId: 'x' }),
      'bad_input',
      /itemId/,
    );
    await expectAppError(async () => await getItemDetail(f.db, { actor: null, itemId }), 'unauthorized');
  });

  it('a gold or holdout item is not found for reviewers (its label is trusted data); admins and ops see it', async () => {
    for (const role of ['gold', 'holdout'] as const) {
      const item = known.find((k) => k.evalRole === role)!;
      await expectAppError(
        async () => await getItemDetail(f.db, { actor: f.reviewer, itemId: item.id }),
        'not_found',
        new RegExp(`There is no item ${item.id}`),
      );
      await expectAppError(
        async () => await getItemDetail(f.db, { actor: f.reviewer, itemId: item.id, catalogue: 'demo' }),
        'not_found',
      );
      for (const actor of [f.admin, f.ops])
        expect((await getItemDetail(f.db, { actor, itemId: item.id })).item.evalRole).toBe(role);
    }
  });
});
