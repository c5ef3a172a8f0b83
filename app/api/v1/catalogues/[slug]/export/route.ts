import { getDb } from '@/db/client';
import { EXPORT_QUERY_NAMES, exportLabels } from '@/lib/catalogue/export';
import { apiRoute } from '@/lib/http/api-route';

export const dynamic = 'force-dynamic';

// GET ?format=csv|json&status=&predicted=&label=&labelSource=&evalRole=&minConfidence=&maxConfidence=
// The catalogue's current labels with provenance, streamed as a download: the items the
// browser's filters select (its page and sort are ignored). exportLabels validates the query
// (zod, empty values ignored) and checks export.read again.
export const GET = apiRoute<{ slug: string }>('export.read', async ({ actor, request, params }) => {
  // Only the query's own names: the rest of exportLabels' options (now, chunk size) are not the client's.
  const query = Object.fromEntries(
    [...new URL(request.url).searchParams].filter(([name]) => EXPORT_QUERY_NAMES.includes(name)),
  );
  const file = await exportLabels(getDb(), { ...query, catalogue: params.slug, actor });
  return new Response(file.body, {
    headers: {
      'content-type': file.contentType,
      'content-disposition': `attachment; filename="${file.filename}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
});
