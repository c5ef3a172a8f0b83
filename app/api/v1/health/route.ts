import { getCurrentActor } from '@/lib/auth/current-actor';
import { can } from '@/lib/auth/permissions';
import { checkHealth } from '@/lib/health';

export const dynamic = 'force-dynamic';

/**
 * Public liveness check: says nothing about items or users, so it needs no sign-in. Signed-in
 * operators (dashboards.read) also get process ids.
 */
export async function GET() {
  const actor = await getCurrentActor().catch(() => null);
  const health = await checkHealth({ detail: actor !== null && can(actor.role, 'dashboards.read') });
  return Response.json(health, { status: health.ok ? 200 : 503 });
}
