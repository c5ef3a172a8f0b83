import { nextJsonRoute } from '@/lib/http/api-route';
import { claimRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** The focus view's next item, leased to the reviewer (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(claimRoute);
