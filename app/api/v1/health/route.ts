import { checkHealth } from '@/lib/health';

export const dynamic = 'force-dynamic';

/** Public liveness check: says nothing about items or users, so it needs no sign-in. */
export function GET() {
  const health = checkHealth();
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
