import Link from 'next/link';
import { getCurrentActor } from '@/lib/auth/current-actor';
import { can, type Permission } from '@/lib/auth/permissions';
import { NavMenu } from './nav-menu';
import { SignOutButton } from './sign-out-button';

const LINKS: { href: string; label: string; permission: Permission }[] = [
  { href: '/review', label: 'Review', permission: 'items.review' },
  { href: '/catalogues', label: 'Catalogues', permission: 'catalogue.read' },
  { href: '/import', label: 'Import', permission: 'catalogue.import' },
  { href: '/models', label: 'Models', permission: 'dashboards.read' },
  { href: '/lab', label: 'Lab', permission: 'lab.read' },
  { href: '/dashboards', label: 'Dashboards', permission: 'dashboards.read' },
  { href: '/settings', label: 'Settings', permission: 'settings.write' },
  { href: '/admin/users', label: 'Users', permission: 'users.manage' },
];

/**
 * Shows only what the role may open; the pages and routes check again on the server. Below the
 * `lg` width the links and the account fold into a menu button (NavMenu), so that a phone's
 * 390 px never scrolls sideways.
 */
export async function Nav() {
  const actor = await getCurrentActor();
  const links = actor ? LINKS.filter((link) => can(actor.role, link.permission)) : [];
  const account = actor ? { email: actor.email, role: actor.role } : null;
  return (
    <header className="border-b border-gray-200 bg-white">
      <nav className="mx-auto flex max-w-6xl items-center gap-4 px-4 py-2 text-sm" aria-label="Main">
        <Link href="/" className="font-semibold tracking-tight">
          Loupe
        </Link>
        <span className="hidden items-center gap-4 lg:flex" data-testid="nav-links">
          {links.map((link) => (
            <Link key={link.href} href={link.href} className="text-gray-700 hover:text-gray-950">
              {link.label}
            </Link>
          ))}
        </span>
        <span className="ml-auto hidden items-center gap-3 text-gray-600 lg:flex">
          {account ? (
            <>
              <span data-testid="signed-in-as">
                {account.email} ({account.role})
              </span>
              <SignOutButton />
            </>
          ) : (
            <Link href="/signin">Sign in</Link>
          )}
        </span>
        <NavMenu links={links.map(({ href, label }) => ({ href, label }))} account={account} />
      </nav>
    </header>
  );
}
