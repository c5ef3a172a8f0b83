import { z } from 'zod';
import { getDb } from '@/db/client';
import { can } from '@/lib/auth/permissions';
import { apiRoute } from '@/lib/http/api-route';
import { getImportStatus } from '@/lib/import/status';

export const dynamic = 'force-dynamic';

const Params = z.object({ id: z.coerce.number().int().positive('the import id is a positive whole number') });

/** An import and where its items are now: the import page polls this while the worker scores. */
export const GET = apiRoute<{ id: string }>('catalogue.read', async ({ actor, params }) => {
  const { id } = Params.parse(params);
  const status = await getImportStatus(getDb(), id);
  // `source` is where the file lay on the server (a dataset path): for those who import only.
  if (can(actor.role, 'catalogue.import')) return status;
  const { source: _source, ...shown } = status;
  return shown;
});
