import { nextJsonRoute } from '@/lib/http/api-route';
import { gridSubmitRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** A whole grid's decisions (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(gridSubmitRoute);
