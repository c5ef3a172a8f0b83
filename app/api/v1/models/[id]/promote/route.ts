import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { promoteAndRescore } from '@/lib/models/promotion';

export const dynamic = 'force-dynamic';

const ID_MESSAGE = 'the model version id is a positive whole number';
const Params = z.object({ id: z.coerce.number({ error: ID_MESSAGE }).int(ID_MESSAGE).positive(ID_MESSAGE) });

/**
 * Makes a version active (promote a candidate, override a rejection, or roll back to a
 * retired one) and queues the re-score: `{ promoted, retired, rescoreJob }`.
 */
export const POST = apiRoute<{ id: string }>('models.manage', async ({ actor, params }) => {
  const { id } = Params.parse(params);
  return await promoteAndRescore(getDb(), { actor, modelVersionId: id });
});
