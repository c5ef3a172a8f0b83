import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { type Db, withTransaction, firstRow } from '@/db/client';
import { items, reviews } from '@/db/schema';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { LabelledImages } from '@/lib/ml/train';

/**
 * Human labels are split once and for all by a hash of the item id: about one in five is
 * held out, never trained on by any candidate, and is where the gate measures whether a
 * candidate learnt what reviewers taught. The split depends on nothing but the id, so it is
 * the same for every retrain, and a label held out once stays held out.
 */
export const HELD_OUT_HUMAN_PERCENT = 20;

/** A 32-bit integer mix (Wellons' lowbias32): nearby ids land far apart. */
function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Whether a human label on this item is held out from training (for the gate). */
export function isHeldOutHumanLabel(itemId: number): boolean {
  // A fixed salt, so the split does not line up with any other hash of item ids.
  return mix32(itemId ^ 0x5bd1e995) % 100 < HELD_OUT_HUMAN_PERCENT;
}

export interface HumanLabels {
  /** For fine-tuning. */
  train: LabelledImages & { itemIds: number[] };
  /** For the gate only. */
  heldOut: LabelledImages & { itemIds: number[] };
  /**
   * The newest review of the catalogue when the labels were read: labels from reviews after
   * it are not in this set (the scheduler counts those as new).
   */
  throughReviewId: number;
}

const PAGE = 2000;

function toImages(rows: { id: number; pixels: Buffer; label: number }[]): LabelledImages & { itemIds: number[] } {
  const pixels = new Uint8Array(rows.length * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    pixels.set(row.pixels, i * PIXELS_PER_IMAGE);
    labels[i] = row.label;
  });
  return { pixels, labels, count: rows.length, itemIds: rows.map((row) => row.id) };
}

/**
 * The catalogue's human labels (items whose current label a reviewer gave; an undone decision
 * has already put the item back), evaluation items excluded, split into train and held out.
 * Read in one transaction, so the labels and `throughReviewId` describe the same moment.
 */
export async function readHumanLabels(db: Db, catalogueId: number): Promise<HumanLabels> {
  return await withTransaction(db, async (tx) => {
    const throughReviewId =
      (
        await tx
          .select({ id: sql<number | null>`max(${reviews.id})` })
          .from(reviews)
          .innerJoin(items, eq(items.id, reviews.itemId))
          .where(eq(items.catalogueId, catalogueId))
          .limit(1)
          .then(firstRow)
      )?.id ?? 0;
    const labelled = (
      await tx
        .select({ id: items.id, label: items.currentLabel })
        .from(items)
        .where(and(eq(items.catalogueId, catalogueId), eq(items.labelSource, 'human'), isNull(items.evalRole)))
        .orderBy(asc(items.id))
    ).filter((row): row is { id: number; label: number } => row.label !== null);
    const rows: { id: number; pixels: Buffer; label: number }[] = [];
    for (let start = 0; start < labelled.length; start += PAGE) {
      const page = labelled.slice(start, start + PAGE);
      const pixels = new Map(
        (
          await tx
            .select({ id: items.id, pixels: items.pixels })
            .from(items)
            .where(
              inArray(
                items.id,
                page.map((row) => row.id),
              ),
            )
        ).map((row) => [row.id, row.pixels]),
      );
      for (const row of page) rows.push({ ...row, pixels: pixels.get(row.id)! });
    }
    return {
      train: toImages(rows.filter((row) => !isHeldOutHumanLabel(row.id))),
      heldOut: toImages(rows.filter((row) => isHeldOutHumanLabel(row.id))),
      throughReviewId,
    };
  });
}

/** The catalogue's holdout items with their trusted labels (as imported). */
export async function readHoldout(db: Db, catalogueId: number): Promise<LabelledImages & { itemIds: number[] }> {
  const rows = (
    await db
      .select({ id: items.id, pixels: items.pixels, label: items.importLabel })
      .from(items)
      .where(and(eq(items.catalogueId, catalogueId), eq(items.evalRole, 'holdout')))
      .orderBy(asc(items.id))
  ).filter((row): row is { id: number; pixels: Buffer; label: number } => row.label !== null);
  return toImages(rows);
}
