import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { submitGridKeepingLive } from '@/lib/review/grid-and-undo';
import { SubmitGridReviewInput } from '@/lib/review/decisions';

export const dynamic = 'force-dynamic';

const GridBody = z.object({
  catalogue: z.string().min(1, 'name the catalogue by its slug'),
  decisions: SubmitGridReviewInput.shape.decisions,
});

/**
 * A whole grid: `label: null` confirms the model's answer, a class index corrects it. Every
 * decision whose hold is live is recorded; the others come back with `status: "lost"`.
 */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const body = await parseJsonBody(request, GridBody);
  const db = getDb();
  const catalogue = requireCatalogue(db, body.catalogue);
  return { results: submitGridKeepingLive(db, { actor, catalogueId: catalogue.id, decisions: body.decisions }) };
});
