import { nextJsonRoute } from '@/lib/http/api-route';
import { heartbeatRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** Renews the reviewer's leases (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(heartbeatRoute);
