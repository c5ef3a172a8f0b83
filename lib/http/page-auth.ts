import { forbidden, redirect } from 'next/navigation';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { can, type Actor, type Permission } from '@/lib/auth/permissions';

/** What requirePageAccess returns: a refusal never returns (it redirects or answers 403). */
export type PageAccess = { allowed: true; actor: Actor };

/**
 * Which permission each page asks requirePageAccess for, by route: the 403 page
 * (app/forbidden.tsx) names it, since Next gives that page no props. tests/security/pages
 * checks every page.tsx against this table.
 */
export const PAGE_PERMISSIONS: Record<string, Permission> = {
  '/': 'catalogue.read',
  '/catalogues': 'catalogue.read',
  '/catalogues/[slug]': 'catalogue.read',
  '/catalogues/[slug]/items/[id]': 'catalogue.read',
  '/review': 'items.review',
  '/review/grid': 'items.review',
  '/review/keys': 'settings.write',
  '/import': 'catalogue.import',
  '/settings': 'settings.write',
  '/models': 'dashboards.read',
  '/dashboards': 'dashboards.read',
  '/lab': 'lab.read',
  '/admin/users': 'users.manage',
};

/** The permission the page at `pathname` needs, or null for a path not in the table. */
export function pagePermission(pathname: string | null): Permission | null {
  if (!pathname) return null;
  const segments = pathname.split('?')[0]!.split('/').filter(Boolean);
  for (const [route, permission] of Object.entries(PAGE_PERMISSIONS)) {
    const parts = route.split('/').filter(Boolean);
    if (parts.length === segments.length && parts.every((p, i) => p.startsWith('[') || p === segments[i])) {
      return permission;
    }
  }
  return null;
}

/**
 * For server components: signed-out visitors are sent to the sign-in page (coming back to
 * `from` afterwards); a signed-in actor without the permission gets Next's forbidden(): the
 * response is a 403 and app/forbidden.tsx renders instead of the page.
 */
export async function requirePageAccess(permission: Permission, from: string): Promise<PageAccess> {
  const actor = await getCurrentActor();
  if (!actor) redirect(`/signin?callbackUrl=${encodeURIComponent(from)}`);
  if (!can(actor.role, permission)) forbidden();
  return { allowed: true, actor };
}
