import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { claimNext } from '@/lib/review/queue';

export const dynamic = 'force-dynamic';

const ClaimBody = z.object({
  catalogue: z.string().min(1, 'name the catalogue by its slug'),
  /** Items the page already shows or has prefetched: the claim hands out another one. */
  holding: z.array(z.number().int().positive()).max(5).optional(),
});

/** The focus view's next item, leased to the reviewer; `{item: null}` when nothing is left for them. */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const body = await parseJsonBody(request, ClaimBody);
  const db = getDb();
  const catalogue = requireCatalogue(db, body.catalogue);
  return { item: claimNext(db, { actor, catalogueId: catalogue.id, holding: body.holding }) };
});
