import { nextJsonRoute } from '@/lib/http/api-route';
import { releaseRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** Gives the reviewer's held items back to the queue (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(releaseRoute);
