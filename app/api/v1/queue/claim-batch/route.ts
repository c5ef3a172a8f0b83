import { nextJsonRoute } from '@/lib/http/api-route';
import { claimBatchRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** The grid view's batch of items of one predicted class (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(claimBatchRoute);
