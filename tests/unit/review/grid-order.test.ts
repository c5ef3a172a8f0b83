import { afterAll, describe, expect, it } from 'vitest';
import { claimBatch, claimNext } from '@/lib/review/queue';
import { makeFixture, tempDir } from './fixtures';

const tmp = tempDir('loupe-grid-order-');
afterAll(tmp.cleanup);

const T0 = 1_700_000_000_000;

describe('claimBatch order', () => {
  it('serves the most confident first, even when the reviewer already holds an uncertain item of the class', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 2, confidence: 0.4 },
      { predictedClass: 2, confidence: 0.9 },
      { predictedClass: 2, confidence: 0.7 },
      { predictedClass: 2, confidence: 0.8 },
      { predictedClass: 1, confidence: 0.95 },
    ]);
    const [uncertain, c90, c70, c80] = f.itemIds;
    // The focus view hands out the most uncertain item; the reviewer then opens the grid.
    const held = await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 });
    expect(held?.itemId).toBe(uncertain);
    const batch = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 4,
      now: T0 + 1000,
    });
    expect(batch.map((item) => item.itemId)).toEqual([c90, c80, c70, uncertain]);
    expect(batch[0]!.top[0]!.prob).toBe(0.9);
    // A reload (everything held now) shows the same order.
    const again = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 2,
      size: 4,
      now: T0 + 2000,
    });
    expect(again.map((item) => item.itemId)).toEqual([c90, c80, c70, uncertain]);
  });

  it('orders equal confidences oldest first, as the queue index does', async () => {
    const f = await makeFixture(tmp.dir, [
      { predictedClass: 0, confidence: 0.6 },
      { predictedClass: 0, confidence: 0.6 },
      { predictedClass: 0, confidence: 0.6 },
    ]);
    await claimNext(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, now: T0 });
    const batch = await claimBatch(f.db, {
      actor: f.reviewer,
      catalogueId: f.catalogueId,
      predictedClass: 0,
      size: 3,
      now: T0,
    });
    expect(batch.map((item) => item.itemId)).toEqual(f.itemIds);
  });
});
