import crypto from 'node:crypto';
import { type Db, onlyRow } from '@/db/client';
import { modelVersions, users } from '@/db/schema';
import { ensureCatalogue } from '@/lib/catalogues';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { createRng } from '@/lib/ml/random';

export interface SyntheticCatalogue {
  slug: string;
  catalogueId: number;
  modelVersionId: number;
  itemCount: number;
}

/**
 * Fills a migrated database with a catalogue shaped like a real one, for benchmarks only:
 * confidences skewed high, about 80% auto-accepted, the rest to review, a tenth of those
 * reviewed by a person (a quarter of them corrected), 1% never scored. Raw statements in one
 * transaction: 100,000 items take seconds, not minutes.
 */
/**
 * The review queue's shape, for the queue benchmarks: a share `waiting` of all items needs review
 * (a share `audit` of those drawn into the audit sample: confident, routing reason 'audit'; the
 * rest under the threshold), 5% reviewed, the rest auto-accepted; `gold` gold items (reviewed,
 * known label) served to reviewers by the mix-in. Without it, the default catalogue shape above.
 */
export interface QueueShape {
  waiting: number;
  audit: number;
  gold: number;
}

export async function fillSyntheticCatalogue(
  db: Db,
  options: { itemCount: number; slug?: string; seed?: number; queue?: QueueShape },
): Promise<SyntheticCatalogue> {
  const slug = options.slug ?? 'bench';
  const random = createRng(options.seed ?? 1);
  const classNames = [...FASHION_MNIST_CLASSES];
  const catalogue = await ensureCatalogue(db, { slug, name: `Synthetic (${options.itemCount} items)`, classNames });
  const model = await db
    .insert(modelVersions)
    .values({
      catalogueId: catalogue.id,
      name: 'bench-model',
      arch: 'cnn',
      weightsPath: '/nonexistent',
      status: 'active',
    })
    .returning()
    .then(onlyRow);
  const reviewer = await db
    .insert(users)
    .values({
      email: `bench-reviewer-${catalogue.id}@example.test`,
      name: 'Bench Reviewer',
      passwordHash: 'x',
      role: 'reviewer',
    })
    .returning()
    .then(onlyRow);

  const sqlite = db.$client;
  const insertItem = sqlite.prepare(
    `insert into items (catalogue_id, pixels, content_hash, source, source_row, external_id, current_label, label_source, status,
       routing_reason, eval_role, import_label)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertPrediction = sqlite.prepare(
    'insert into predictions (item_id, model_version_id, probs, predicted_class, confidence, margin) values (?, ?, ?, ?, ?, ?)',
  );
  const insertReview = sqlite.prepare(
    `insert into reviews (item_id, reviewer_id, model_version_id, model_label, chosen_label, action, duration_ms, client_id, created_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const pixels = Buffer.alloc(PIXELS_PER_IMAGE);
  const t0 = Date.UTC(2025, 0, 1);

  sqlite.transaction(() => {
    for (let row = 0; row < options.itemCount; row++) {
      pixels.writeUInt32LE(row, 0);
      const hash = crypto.createHash('sha256').update(pixels).digest('hex');
      const shape = queueShape(options.queue, row, random);
      const unscored = shape ? false : random() < 0.01;
      const predicted = Math.floor(random() * classNames.length);
      const confidence = shape ? shape.confidence : 1 - random() ** 3 * 0.85;
      const reviewed = shape ? shape.status === 'reviewed' : !unscored && confidence < 0.9 && random() < 0.1;
      const corrected = reviewed && !shape?.gold && random() < 0.25;
      const label = unscored ? null : corrected ? (predicted + 1) % classNames.length : predicted;
      const status =
        shape?.status ??
        (unscored ? 'unscored' : confidence >= 0.9 ? 'auto_accepted' : reviewed ? 'reviewed' : 'needs_review');
      const source = unscored ? null : reviewed ? 'human' : 'model';
      const itemId = Number(
        insertItem.run(
          catalogue.id,
          pixels,
          hash,
          'bench.idx',
          row,
          `ext-${row}`,
          label,
          source,
          status,
          shape?.reason ?? null,
          shape?.gold ? 'gold' : null,
          shape?.gold ? predicted : null,
        ).lastInsertRowid,
      );
      if (unscored) continue;
      const rest = (1 - confidence) / (classNames.length - 1);
      const probs = classNames.map((_, k) => (k === predicted ? confidence : rest));
      insertPrediction.run(itemId, model.id, JSON.stringify(probs), predicted, confidence, confidence - rest);
      if (reviewed && !shape?.gold) {
        insertReview.run(
          itemId,
          reviewer.id,
          model.id,
          predicted,
          label,
          corrected ? 'correct' : 'confirm',
          2000 + Math.floor(random() * 8000),
          `bench-${catalogue.id}-${row}`,
          t0 + row * 1000,
        );
      }
    }
  })();
  return { slug, catalogueId: catalogue.id, modelVersionId: model.id, itemCount: options.itemCount };
}

interface ShapedItem {
  status: 'needs_review' | 'reviewed' | 'auto_accepted';
  reason: 'confidence' | 'audit' | null;
  confidence: number;
  gold: boolean;
}

/** One item of a catalogue with the given queue shape; undefined without a shape. */
function queueShape(shape: QueueShape | undefined, row: number, random: () => number): ShapedItem | undefined {
  if (!shape) return undefined;
  const confident = () => 0.9 + random() * 0.0999;
  if (row < shape.gold) return { status: 'reviewed', reason: null, confidence: confident(), gold: true };
  const u = random();
  if (u < shape.waiting) {
    const audit = random() < shape.audit;
    return audit
      ? { status: 'needs_review', reason: 'audit', confidence: confident(), gold: false }
      : { status: 'needs_review', reason: 'confidence', confidence: 0.2 + random() * 0.7, gold: false };
  }
  if (u < shape.waiting + 0.05)
    return { status: 'reviewed', reason: null, confidence: 0.2 + random() * 0.7, gold: false };
  return { status: 'auto_accepted', reason: null, confidence: confident(), gold: false };
}
