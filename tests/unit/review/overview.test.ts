import { afterAll, describe, expect, it } from 'vitest';
import { ensureCatalogue } from '@/lib/import';
import { claimBatch, claimNext, DEFAULT_LEASE_MS } from '@/lib/review/queue';
import { countQueueByClass, pickReviewCatalogue } from '@/lib/review/overview';
import { submitReview } from '@/lib/review/decisions';
import { CLASSES, expectAppError, makeFixture, tempDir } from './fixtures';

const tmp = tempDir('loupe-queue-overview-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

describe('pickReviewCatalogue', () => {
  it('opens the named catalogue, else the oldest, and lists all of them', async () => {
    const f = await makeFixture(tmp.dir, [{}]);
    await ensureCatalogue(f.db, { slug: 'shoes', name: 'Shoes', classNames: ['boot', 'sandal'] });
    const first = await pickReviewCatalogue(f.db, { actor: f.reviewer });
    expect(first.catalogue.slug).toBe('demo');
    expect(first.choices).toEqual([
      { slug: 'demo', name: 'Demo' },
      { slug: 'shoes', name: 'Shoes' },
    ]);
    expect((await pickReviewCatalogue(f.db, { actor: f.reviewer, slug: 'shoes' })).catalogue.classNames).toEqual([
      'boot',
      'sandal',
    ]);
    await expectAppError(
      async () => await pickReviewCatalogue(f.db, { actor: f.reviewer, slug: 'hats' }),
      'not_found',
      /no catalogue "hats"/,
    );
    await expectAppError(
      async () => await pickReviewCatalogue(f.db, { actor: f.reviewer, slug: 'Not A Slug' }),
      'bad_input',
    );
    await expectAppError(async () => await pickReviewCatalogue(f.db, { actor: f.ops }), 'forbidden');
  });
});

describe('countQueueByClass', () => {
  it('counts items needing review per predicted class, and those this reviewer could claim', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 1, confidence: 0.9 }, // 0: held by reviewer2
      { predictedClass: 1, confidence: 0.8 }, // 1: held by the reviewer
      { predictedClass: 1, confidence: 0.7 }, // 2: skipped by the reviewer
      { predictedClass: 1, confidence: 0.6 }, // 3: free
      { predictedClass: 3, confidence: 0.5 }, // 4: free
      { predictedClass: 3, status: 'reviewed' }, // 5: not in the queue
      { predictedClass: 4, status: 'auto_accepted' }, // 6: not in the queue
      { unscored: true }, // 7: no prediction, not in any class
    ]);
    const id = (i: number) => f.itemIds[i]!;
    expect(
      (
        await claimBatch(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, predictedClass: 1, size: 1, now: T0 })
      ).map((c) => c.itemId),
    ).toEqual([id(0)]);
    await claimBatch(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, predictedClass: 1, size: 2, now: T0 });
    await submitReview(f.db, {
      actor: f.reviewer,
      itemId: id(2),
      action: 'skip',
      clientId: 'overview-skip-1',
      durationMs: 500,
      now: T0,
    });

    const counts = await countQueueByClass(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + 1000 });
    expect(counts.map((c) => c.className)).toEqual(CLASSES);
    expect(counts.map((c) => [c.needsReview, c.available])).toEqual([
      [0, 0],
      [4, 2],
      [0, 0],
      [1, 1],
      [0, 0],
    ]);
    // For the other reviewer: the skip was not theirs; the reviewer's held item is not available.
    expect(
      (await countQueueByClass(f.db, { actor: f.reviewer2, catalogueId: f.catalogueId, now: T0 + 1000 }))[1],
    ).toMatchObject({ needsReview: 4, available: 3 });
    // Once the holds expire, everything but the reviewer's own skip is available again.
    expect(
      (
        await countQueueByClass(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 + DEFAULT_LEASE_MS + 1 })
      )[1],
    ).toMatchObject({ needsReview: 4, available: 3 });
  });

  it('refuses ops and unknown catalogues', async () => {
    const f = await makeFixture(tmp.dir, [{}]);
    await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 });
    await expectAppError(
      async () => await countQueueByClass(f.db, { actor: f.ops, catalogueId: f.catalogueId }),
      'forbidden',
    );
    await expectAppError(
      async () => await countQueueByClass(f.db, { actor: f.reviewer, catalogueId: 999 }),
      'not_found',
    );
  });
});
