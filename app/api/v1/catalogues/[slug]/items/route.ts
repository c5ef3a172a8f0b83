import { getDb } from '@/db/client';
import { listItems } from '@/lib/catalogue/browse';
import { apiRoute } from '@/lib/http/api-route';

export const dynamic = 'force-dynamic';

// GET ?page=&pageSize=&sort=&dir=&status=&predicted=&label=&labelSource=&evalRole=&minConfidence=&maxConfidence=
// listItems validates the query (zod, empty values ignored) and checks catalogue.read again.
export const GET = apiRoute<{ slug: string }>('catalogue.read', async ({ actor, request, params }) => {
  const query = Object.fromEntries(new URL(request.url).searchParams);
  return await listItems(getDb(), { ...query, catalogue: params.slug, actor });
});
