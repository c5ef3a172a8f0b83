import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { ThresholdChangeRequest, changeThreshold } from '@/lib/routing/threshold-request';

export const dynamic = 'force-dynamic';

/**
 * The threshold page's two forms for scripts: `{threshold}` sets it, `{targetAccuracy}` picks
 * the lowest threshold the holdout says reaches the target (target mode) and sets that.
 * Either re-routes the catalogue in the same transaction.
 */
export const PUT = apiRoute<{ slug: string }>('settings.write', async ({ actor, request, params }) => {
  const db = getDb();
  const catalogue = await requireCatalogue(db, params.slug);
  const body = await parseJsonBody(request, ThresholdChangeRequest);
  return await changeThreshold(db, { actor, catalogueId: catalogue.id, request: body });
});
