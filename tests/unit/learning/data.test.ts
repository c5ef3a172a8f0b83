import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { items, reviews } from '@/db/schema';
import { countEvaluationItems, countItemsByStatus } from '@/lib/catalogue/summary';
import { parseIdxImages, parseIdxLabels, readIdxSplit } from '@/lib/formats/idx';
import { getEnv } from '@/lib/env';
import { ensureCatalogue, importIdx, importItems } from '@/lib/import';
import { balancedSample, classCounts } from '@/lib/learning/balanced-sample';
import { buildDemoEvalSets, bundledDatasetDir, HOLDOUT_FILES, REPLAY_FILES } from '@/lib/learning/demo-data';
import { MIN_REPLAY, replaySizeFor, sampleReplay } from '@/lib/learning/replay';
import { HELD_OUT_HUMAN_PERCENT, isHeldOutHumanLabel, readHoldout, readHumanLabels } from '@/lib/learning/split';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { claimNext } from '@/lib/review/queue';
import { submitReview, undoLastReview } from '@/lib/review/decisions';
import { parseImportArgs } from '@/scripts/import';
import { expectAppError, makeFixture, tempDir } from '../review/fixtures';

const { dir, cleanup } = tempDir('loupe-learning-data-');
afterAll(cleanup);

// Where replay reads the full training set from (the Debian package, unless overridden).
const DEBIAN = getEnv().LOUPE_DATASET_DIR;
const hasDebian = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].some((name) =>
  fs.existsSync(path.join(DEBIAN, name)),
);
const hashOf = (pixels: Uint8Array, i: number) =>
  createHash('sha1')
    .update(pixels.subarray(i * 784, (i + 1) * 784))
    .digest('hex');

function readBundled(files: { images: string; labels: string }) {
  const images = parseIdxImages(fs.readFileSync(path.join(bundledDatasetDir(), files.images)), files.images);
  const labels = parseIdxLabels(fs.readFileSync(path.join(bundledDatasetDir(), files.labels)), files.labels);
  return { images, labels };
}

describe('held-out human labels', () => {
  it('are chosen by the item id alone: the same every time, about one in five', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => i + 1);
    const first = ids.filter(isHeldOutHumanLabel);
    expect(ids.filter(isHeldOutHumanLabel)).toEqual(first);
    expect(first.length / ids.length).toBeGreaterThan((HELD_OUT_HUMAN_PERCENT - 1.5) / 100);
    expect(first.length / ids.length).toBeLessThan((HELD_OUT_HUMAN_PERCENT + 1.5) / 100);
    // Not a pattern of consecutive ids: both parts are spread over the range.
    expect(first.filter((id) => id <= 10_000).length).toBeGreaterThan(1700);
  });

  it('split the human labels into disjoint train and held-out sets; undone decisions and evaluation items are not human labels', async () => {
    const f = await makeFixture(
      dir,
      Array.from({ length: 80 }, () => ({})),
    );
    for (let i = 0; i < 40; i++) {
      const item = (await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId }))!;
      await submitReview(f.db, {
        actor: f.reviewer,
        itemId: item.itemId,
        action: 'correct',
        label: ((item.predictedClass ?? 0) + 1) % 5,
        clientId: `decide-${i}-xxxx`,
        durationMs: 1000,
      });
    }
    const undone = await undoLastReview(f.db, { actor: f.reviewer, clientId: 'undo-1-xxxxx' });
    // A gold item a reviewer labelled is evaluation data, not training data.
    const [goldId] = (
      await f.db.select({ id: items.id }).from(items).where(eq(items.labelSource, 'human')).limit(1)
    ).map((r) => r.id);
    await f.db.update(items).set({ evalRole: 'gold' }).where(eq(items.id, goldId!));

    const labels = await readHumanLabels(f.db, f.catalogueId);
    const trainIds = labels.train.itemIds;
    const heldIds = labels.heldOut.itemIds;
    expect(trainIds.length + heldIds.length).toBe(38);
    expect(trainIds.filter((id) => heldIds.includes(id))).toEqual([]);
    expect(heldIds.every(isHeldOutHumanLabel)).toBe(true);
    expect(trainIds.some(isHeldOutHumanLabel)).toBe(false);
    expect([...trainIds, ...heldIds]).not.toContain(undone.itemId);
    expect([...trainIds, ...heldIds]).not.toContain(goldId);
    // Pixels and labels are the items' own, row by row.
    const rows = new Map((await f.db.select().from(items).where(inArray(items.id, trainIds))).map((r) => [r.id, r]));
    trainIds.forEach((id, i) => {
      expect(labels.train.labels[i]).toBe(rows.get(id)!.currentLabel);
      expect(Buffer.from(labels.train.pixels.subarray(i * 784, (i + 1) * 784)).equals(rows.get(id)!.pixels)).toBe(true);
    });
    const newest = (await f.db.select({ id: reviews.id }).from(reviews)).reduce((m, r) => Math.max(m, r.id), 0);
    expect(labels.throughReviewId).toBe(newest);
    // The same database read again gives the same split.
    expect((await readHumanLabels(f.db, f.catalogueId)).heldOut.itemIds).toEqual(heldIds);
  });
});

describe('class-balanced sampling', () => {
  const labels = Uint8Array.from([...new Array(100).fill(0), ...new Array(50).fill(1), ...new Array(5).fill(2)]);

  it('takes the same number of each class (all of a short class), seeded', () => {
    const sample = balancedSample(labels, { size: 60, numClasses: 3, seed: 1 });
    expect(classCounts(labels, sample, 3)).toEqual([20, 20, 5]);
    expect(new Set(sample).size).toBe(sample.length);
    expect(Array.from(balancedSample(labels, { size: 60, numClasses: 3, seed: 1 }))).toEqual(Array.from(sample));
    expect(Array.from(balancedSample(labels, { size: 60, numClasses: 3, seed: 2 }))).not.toEqual(Array.from(sample));
  });

  it('stays within the candidates it is given', () => {
    const candidates = Uint32Array.from({ length: 80 }, (_, i) => i + 70); // 30 of class 0, 50 of class 1
    const sample = balancedSample(labels, { size: 90, numClasses: 3, seed: 3, candidates });
    expect(Array.from(sample).every((i) => i >= 70 && i < 150)).toBe(true);
    expect(classCounts(labels, sample, 3)).toEqual([30, 30, 0]);
  });

  it('sizes replay at twice the human labels, at least 1,000', () => {
    expect(replaySizeFor(100)).toBe(MIN_REPLAY);
    expect(replaySizeFor(800)).toBe(1600);
  });
});

describe('demo holdout and replay files', () => {
  it('hold 5,000 holdout images and 600 replay images per class, none of them shared', () => {
    const holdout = readBundled(HOLDOUT_FILES);
    const replay = readBundled(REPLAY_FILES);
    expect(holdout.images.count).toBe(5000);
    expect(
      classCounts(
        replay.labels,
        Uint32Array.from({ length: replay.images.count }, (_, i) => i),
        10,
      ),
    ).toEqual(new Array(10).fill(600));
    const holdoutHashes = new Set(
      Array.from({ length: holdout.images.count }, (_, i) => hashOf(holdout.images.pixels, i)),
    );
    for (let i = 0; i < replay.images.count; i++)
      expect(holdoutHashes.has(hashOf(replay.images.pixels, i))).toBe(false);
  });

  it.runIf(hasDebian)(
    'are exactly the validation split and a sample of the training part of the Debian training set',
    () => {
      const sets = buildDemoEvalSets(readIdxSplit(DEBIAN, 'train'));
      const holdout = readBundled(HOLDOUT_FILES);
      const replay = readBundled(REPLAY_FILES);
      expect(Buffer.from(holdout.images.pixels).equals(Buffer.from(sets.holdout.pixels))).toBe(true);
      expect(Buffer.from(holdout.labels).equals(Buffer.from(sets.holdout.labels))).toBe(true);
      expect(Buffer.from(replay.images.pixels).equals(Buffer.from(sets.replay.pixels))).toBe(true);
      expect(Buffer.from(replay.labels).equals(Buffer.from(sets.replay.labels))).toBe(true);
    },
  );
});

describe('replay samples', () => {
  it('for the demo classes: class-balanced, seeded, never a holdout image', async () => {
    const db = openDb(path.join(dir, 'replay-demo.db'));
    await migrateDb(db);
    const catalogue = await ensureCatalogue(db, { slug: 'fm', name: 'FM', classNames: [...FASHION_MNIST_CLASSES] });
    const sample = await sampleReplay(db, { catalogue, size: 1000, seed: 5 });
    expect(sample.source).toBe(hasDebian ? 'fashion-mnist-train' : 'bundled-replay');
    expect(sample.count).toBe(1000);
    expect(
      classCounts(
        sample.labels,
        Uint32Array.from({ length: sample.count }, (_, i) => i),
        10,
      ),
    ).toEqual(new Array(10).fill(100));
    const holdout = readBundled(HOLDOUT_FILES);
    const holdoutHashes = new Set(
      Array.from({ length: holdout.images.count }, (_, i) => hashOf(holdout.images.pixels, i)),
    );
    for (let i = 0; i < sample.count; i++) expect(holdoutHashes.has(hashOf(sample.pixels, i))).toBe(false);
    expect(
      Buffer.from((await sampleReplay(db, { catalogue, size: 1000, seed: 5 })).pixels).equals(
        Buffer.from(sample.pixels),
      ),
    ).toBe(true);
  });

  it("for other catalogues: the catalogue's own import-labelled items, never evaluation items or human labels; none when there are none", async () => {
    const db = openDb(path.join(dir, 'replay-own.db'));
    await migrateDb(db);
    const catalogue = await ensureCatalogue(db, {
      slug: 'shoes',
      name: 'Shoes',
      classNames: ['boot', 'sandal', 'sneaker'],
    });
    expect((await sampleReplay(db, { catalogue, size: 100, seed: 1 })).source).toBe('none');
    const image = (v: number) => new Uint8Array(784).fill(v);
    // Labelled imports: 40 of class 0, 10 of class 1, 30 of class 2 (pixel value = 10 * class + 1).
    const labelled = [...new Array(40).fill(0), ...new Array(10).fill(1), ...new Array(30).fill(2)].map(
      (label, row) => ({ pixels: image(10 * label + 1), label, sourceRow: row }),
    );
    // Many copies of one image per class: kept, not skipped as duplicates.
    await importItems(db, {
      catalogueSlug: 'shoes',
      kind: 'idx',
      source: 'labelled',
      items: labelled,
      keepDuplicates: true,
    });
    await importItems(db, {
      catalogueSlug: 'shoes',
      kind: 'idx',
      source: 'holdout',
      evalRole: 'holdout',
      keepDuplicates: true,
      items: Array.from({ length: 20 }, (_, row) => ({ pixels: image(200), label: row % 3, sourceRow: row })),
    });
    await importItems(db, {
      catalogueSlug: 'shoes',
      kind: 'idx',
      source: 'unlabelled',
      keepDuplicates: true,
      items: Array.from({ length: 20 }, (_, row) => ({ pixels: image(100), label: null, sourceRow: row })),
    });
    // A human label on an imported item makes it a human label, not replay.
    const relabelled = (await db.select({ id: items.id }).from(items).where(eq(items.source, 'labelled')).limit(5)).map(
      (r) => r.id,
    );
    await db
      .update(items)
      .set({ labelSource: 'human', currentLabel: 1, status: 'reviewed' })
      .where(inArray(items.id, relabelled));

    const sample = await sampleReplay(db, { catalogue, size: 30, seed: 2 });
    expect(sample.source).toBe('catalogue-imports');
    expect(
      classCounts(
        sample.labels,
        Uint32Array.from({ length: sample.count }, (_, i) => i),
        3,
      ),
    ).toEqual([10, 10, 10]);
    for (let i = 0; i < sample.count; i++) expect(sample.pixels[i * 784]).toBe(10 * sample.labels[i]! + 1);
    expect((await readHoldout(db, catalogue.id)).count).toBe(20);
  });
});

describe('holdout imports', () => {
  it('store labelled items as reviewed evaluation items, counted apart from the catalogue', async () => {
    const db = openDb(path.join(dir, 'holdout-import.db'));
    await migrateDb(db);
    const catalogue = await ensureCatalogue(db, { slug: 'fm', name: 'FM', classNames: [...FASHION_MNIST_CLASSES] });
    const imagesPath = path.join(bundledDatasetDir(), HOLDOUT_FILES.images);
    const labelsPath = path.join(bundledDatasetDir(), HOLDOUT_FILES.labels);
    // A holdout needs its labels: refused before anything is written.
    await expectAppError(
      () => importIdx(db, { catalogueSlug: 'fm', imagesPath, evalRole: 'holdout' }),
      'bad_input',
      /needs its labels/,
    );
    await expect(
      async () =>
        await importItems(db, {
          catalogueSlug: 'fm',
          kind: 'idx',
          source: 'x',
          evalRole: 'holdout',
          items: [{ pixels: new Uint8Array(784), label: null, sourceRow: 0 }],
        }),
    ).rejects.toThrow(/needs its trusted label/);
    expect(await db.select().from(items)).toHaveLength(0);

    const result = await importIdx(db, { catalogueSlug: 'fm', imagesPath, labelsPath, evalRole: 'holdout' });
    expect(result.inserted).toBe(5000);
    await importItems(db, {
      catalogueSlug: 'fm',
      kind: 'idx',
      source: 'catalogue',
      items: [{ pixels: new Uint8Array(784), label: null, sourceRow: 0 }],
    });
    const rows = await db
      .select({
        status: items.status,
        evalRole: items.evalRole,
        labelSource: items.labelSource,
        importLabel: items.importLabel,
        currentLabel: items.currentLabel,
      })
      .from(items)
      .where(eq(items.evalRole, 'holdout'));
    expect(rows).toHaveLength(5000);
    for (const row of rows)
      expect(row).toMatchObject({ status: 'reviewed', labelSource: 'import', currentLabel: row.importLabel });
    expect(await countItemsByStatus(db, catalogue.id)).toEqual({ unscored: 1 });
    expect(await countEvaluationItems(db, catalogue.id)).toEqual({ holdout: 5000 });
    expect(parseImportArgs(['--catalogue', 'fm', '--idx', 'd', '--holdout']).holdout).toBe(true);
    expect(parseImportArgs(['--catalogue', 'fm', '--idx', 'd']).holdout).toBe(false);
  });
});
