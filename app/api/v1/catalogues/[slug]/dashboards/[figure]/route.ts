import { getDb } from '@/db/client';
import { figureCsv, readFigure } from '@/lib/dashboards';
import { apiRoute } from '@/lib/http/api-route';

export const dynamic = 'force-dynamic';

// GET /api/v1/catalogues/:slug/dashboards/:figure.csv — the numbers of one dashboard chart,
// computed by the same lib/dashboards function the page draws from. Without ".csv": JSON.
export const GET = apiRoute<{ slug: string; figure: string }>('dashboards.read', async ({ actor, params }) => {
  const asCsv = params.figure.endsWith('.csv');
  const id = asCsv ? params.figure.slice(0, -'.csv'.length) : params.figure;
  const figure = await readFigure(getDb(), { actor, catalogue: params.slug, figure: id });
  if (!asCsv) return figure;
  return new Response(figureCsv(figure), {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${params.slug}-${figure.id}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-loupe-source': figure.source,
    },
  });
});
