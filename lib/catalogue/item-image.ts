import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { type Db, firstRow } from '@/db/client';
import { items } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { IMAGE_SIZE } from '@/lib/ml/classes';

/**
 * An item's 28x28 pixels as a PNG, exactly as the model sees them (no resampling: the pages
 * scale it up with `image-rendering: pixelated`). Reviewers need it, so `catalogue.read`.
 */
export async function renderItemPng(db: Db, input: { actor: Actor | null; itemId: number }): Promise<Buffer> {
  requirePermission(input.actor, 'catalogue.read');
  const row = await db
    .select({ pixels: items.pixels })
    .from(items)
    .where(eq(items.id, input.itemId))
    .limit(1)
    .then(firstRow);
  if (!row) throw new AppError('not_found', `There is no item ${input.itemId}.`);
  return sharp(row.pixels, { raw: { width: IMAGE_SIZE, height: IMAGE_SIZE, channels: 1 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
