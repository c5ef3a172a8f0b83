import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { getImportStatus } from '@/lib/import/status';

export const dynamic = 'force-dynamic';

const Params = z.object({ id: z.coerce.number().int().positive('the import id is a positive whole number') });

/** An import and where its items are now: the import page polls this while the worker scores. */
export const GET = apiRoute<{ id: string }>('catalogue.read', ({ params }) => {
  const { id } = Params.parse(params);
  return getImportStatus(getDb(), id);
});
