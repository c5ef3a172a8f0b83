import { getDb } from '@/db/client';
import { exportLabels } from '@/lib/catalogue/export';
import { apiRoute } from '@/lib/http/api-route';

export const dynamic = 'force-dynamic';

// GET ?format=csv|json: the catalogue's current labels with provenance, streamed as a download.
export const GET = apiRoute<{ slug: string }>('export.read', ({ actor, request, params }) => {
  const format = new URL(request.url).searchParams.get('format') ?? undefined;
  const file = exportLabels(getDb(), { catalogue: params.slug, format, actor });
  return new Response(file.body, {
    headers: {
      'content-type': file.contentType,
      'content-disposition': `attachment; filename="${file.filename}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
});
