import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseSearchParams } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { reviewProgress } from '@/lib/review/progress';

export const dynamic = 'force-dynamic';

const ProgressQuery = z.object({
  catalogue: z.string().min(1, 'name the catalogue by its slug'),
  /** The start of the reviewer's session (ms since the epoch), chosen by the page. */
  since: z.coerce.number().int().nonnegative(),
});

/** The focus view's progress line: items left for this reviewer, decisions since `since`. */
export const GET = apiRoute('items.review', async ({ actor, request }) => {
  const query = parseSearchParams(request, ProgressQuery);
  const db = getDb();
  const catalogue = await requireCatalogue(db, query.catalogue);
  return await reviewProgress(db, { actor, catalogueId: catalogue.id, since: query.since });
});
