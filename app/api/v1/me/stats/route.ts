import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseSearchParams } from '@/lib/http/api-route';
import { reviewerStats } from '@/lib/review/decisions';

export const dynamic = 'force-dynamic';

const StatsQuery = z.object({
  /** The start of the reviewer's day in their own time zone (ms since the epoch); default the server's midnight. */
  since: z.coerce.number().int().nonnegative().optional(),
});

/** The signed-in reviewer's own figures: decisions today and median seconds per decision. */
export const GET = apiRoute('items.review', async ({ actor, request }) => {
  const { since } = parseSearchParams(request, StatsQuery);
  return await reviewerStats(getDb(), { actor, since });
});
