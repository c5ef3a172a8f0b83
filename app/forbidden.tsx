import { headers } from 'next/headers';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { pagePermission } from '@/lib/http/page-auth';
import { Forbidden } from './_components/forbidden';

/** Rendered with status 403 when a page calls forbidden() (requirePageAccess refusing a role). */
export default async function ForbiddenPage() {
  // proxy.ts forwards the page's path: Next gives this file no props to say which page it was.
  const permission = pagePermission((await headers()).get('x-loupe-pathname'));
  const actor = await getCurrentActor();
  return <Forbidden permission={permission} role={actor?.role ?? null} />;
}
