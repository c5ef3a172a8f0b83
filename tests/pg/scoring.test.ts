/** Scoring and routing on PostgreSQL: the same pipeline (lib/routing/score-pipeline.ts), its writes through the driver. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { items, predictions, queueCounts } from '@/db/schema';
import { ensureCatalogue } from '@/lib/catalogues';
import { initBackend } from '@/lib/ml/backend';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta, saveUntrainedModel } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import { freshPgDb, type PgTestDb } from './pg-db';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-pg-scoring-'));
const modelDir = path.join(dir, 'model');
let t: PgTestDb;

beforeAll(async () => {
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  await saveUntrainedModel(modelDir, { arch: 'lenet5', classNames: [...FASHION_MNIST_CLASSES], seed: 3 });
  t = await freshPgDb();
});
afterAll(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('scoring on PostgreSQL', () => {
  it('scores and routes every unscored item; labelled items keep their label; the queue count follows', async () => {
    const catalogue = await ensureCatalogue(t.db, {
      slug: 'demo',
      name: 'Demo',
      classNames: [...FASHION_MNIST_CLASSES],
    });
    await t.db.insert(items).values(
      Array.from({ length: 30 }, (_, i) => ({
        catalogueId: catalogue.id,
        pixels: Buffer.from(new Uint8Array(784).map((_, p) => (p * (i + 1)) % 256)),
        contentHash: `h${i}`,
        source: 'test',
        sourceRow: i,
        ...(i < 5 ? { importLabel: i, currentLabel: i, labelSource: 'import' as const } : {}),
      })),
    );
    await registerInitialModel(t.db, {
      catalogueId: catalogue.id,
      name: 'test',
      dir: modelDir,
      meta: readModelMeta(modelDir),
    });

    const result = await scoreUnscoredItems(t.db, { catalogueId: catalogue.id });
    expect(result.scored).toBe(30);
    expect(result.autoAccepted + result.needsReview).toBe(30);
    const rows = await t.db.select().from(items).where(eq(items.catalogueId, catalogue.id));
    expect(rows.filter((r) => r.status === 'unscored')).toEqual([]);
    expect(rows.filter((r) => r.sourceRow < 5).map((r) => [r.currentLabel, r.labelSource])).toEqual(
      [0, 1, 2, 3, 4].map((label) => [label, 'import']),
    );
    expect(await t.db.select().from(predictions)).toHaveLength(30);
    const waiting = rows.filter((r) => r.status === 'needs_review');
    expect(await t.db.select().from(queueCounts).where(eq(queueCounts.catalogueId, catalogue.id))).toEqual([
      {
        catalogueId: catalogue.id,
        waiting: waiting.length,
        waitingAudit: waiting.filter((r) => r.routingReason === 'audit').length,
      },
    ]);
    // The queue order was copied onto the waiting items by the PL/pgSQL triggers.
    const ordered = await t.db
      .select({ confidence: items.queueConfidence })
      .from(items)
      .where(and(eq(items.catalogueId, catalogue.id), eq(items.status, 'needs_review')));
    expect(ordered.every((r) => r.confidence !== null)).toBe(true);

    // Scoring again finds nothing left.
    expect((await scoreUnscoredItems(t.db, { catalogueId: catalogue.id })).scored).toBe(0);
  });
});
