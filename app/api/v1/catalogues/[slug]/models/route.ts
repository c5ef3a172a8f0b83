import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { listModelVersions } from '@/lib/models/versions';

export const dynamic = 'force-dynamic';

/** The catalogue's model versions with their metrics, newest first: admins and ops read it. */
export const GET = apiRoute<{ slug: string }>('dashboards.read', async ({ actor, params }) => await listModelVersions(getDb(), { actor, catalogue: params.slug }));
