import { nextJsonRoute } from '@/lib/http/api-route';
import { submitRoute } from '@/lib/review/api-routes';

export const dynamic = 'force-dynamic';

/** One decision from the focus view, idempotent on clientId (lib/review/api-routes.ts; the production server may answer it before Next). */
export const POST = nextJsonRoute(submitRoute);
