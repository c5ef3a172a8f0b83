import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { renewLeases } from '@/lib/review/leases';

export const dynamic = 'force-dynamic';

const HeartbeatBody = z.object({ itemIds: z.array(z.number().int().positive()) });

/** Renews the reviewer's leases; items whose hold lapsed come back in `lost` (200 all the same). */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const { itemIds } = await parseJsonBody(request, HeartbeatBody);
  return renewLeases(getDb(), { actor, itemIds });
});
