import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { claimBatch } from '@/lib/review/queue';

export const dynamic = 'force-dynamic';

const MAX_GRID_SIZE = 50;

const ClaimBatchBody = z.object({
  catalogue: z.string().min(1, 'name the catalogue by its slug'),
  predictedClass: z.number().int().nonnegative(),
  size: z.number().int().min(1).max(MAX_GRID_SIZE, `a grid holds at most ${MAX_GRID_SIZE} items`).default(25),
});

/** The grid view's batch: up to `size` items the active model put in `predictedClass`, leased together. */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const body = await parseJsonBody(request, ClaimBatchBody);
  const db = getDb();
  const catalogue = requireCatalogue(db, body.catalogue);
  return {
    items: claimBatch(db, { actor, catalogueId: catalogue.id, predictedClass: body.predictedClass, size: body.size }),
  };
});
