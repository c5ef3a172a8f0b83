import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { requestRetrainNow } from '@/lib/learning/schedule';

export const dynamic = 'force-dynamic';

/** "Train now": 202 with the training job, new or the one already queued or running (`created` says which). */
export const POST = apiRoute<{ slug: string }>('models.manage', async ({ actor, params }) => {
  const db = getDb();
  const catalogue = await requireCatalogue(db, params.slug);
  const { job, created } = await requestRetrainNow(db, { actor, catalogueId: catalogue.id });
  // The lease owner names a worker's host and pid: internal, not part of the answer.
  const { leaseOwner: _leaseOwner, ...shown } = job;
  return Response.json({ job: shown, created }, { status: 202 });
});
