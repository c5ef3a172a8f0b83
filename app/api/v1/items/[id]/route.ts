import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { getItemDetail } from '@/lib/catalogue/item-detail';

export const dynamic = 'force-dynamic';

// GET: one item with its provenance, each model version's prediction and its review history.
export const GET = apiRoute<{ id: string }>(
  'catalogue.read',
  async ({ actor, params }) => await getItemDetail(getDb(), { itemId: params.id, actor }),
);
