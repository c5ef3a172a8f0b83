import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { listJobs } from '@/lib/jobs/list';

export const dynamic = 'force-dynamic';

/** GET ?catalogue=&kind=&status=&limit=: recent jobs, newest first, with progress and errors (admins). */
export const GET = apiRoute('models.manage', async ({ actor, request }) => {
  const query = Object.fromEntries(new URL(request.url).searchParams);
  return { jobs: await listJobs(getDb(), { ...query, actor }) };
});
