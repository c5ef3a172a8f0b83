import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { releaseLeases } from '@/lib/review/leases';

export const dynamic = 'force-dynamic';

const ReleaseBody = z.object({ itemIds: z.array(z.number().int().positive()) });

/** Gives the reviewer's held items back to the queue (sent when the page is hidden or closed). */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const { itemIds } = await parseJsonBody(request, ReleaseBody);
  return releaseLeases(getDb(), { actor, itemIds });
});
