import { redirect } from 'next/navigation';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { can, type Actor, type Permission } from '@/lib/auth/permissions';

export type PageAccess = { allowed: true; actor: Actor } | { allowed: false; actor: Actor; permission: Permission };

/**
 * For server components: signed-out visitors are sent to the sign-in page (coming back to
 * `from` afterwards); a signed-in actor without the permission gets `allowed: false`, and the
 * page renders <Forbidden/> instead of its content.
 */
export async function requirePageAccess(permission: Permission, from: string): Promise<PageAccess> {
  const actor = await getCurrentActor();
  if (!actor) redirect(`/signin?callbackUrl=${encodeURIComponent(from)}`);
  return can(actor.role, permission) ? { allowed: true, actor } : { allowed: false, actor, permission };
}
