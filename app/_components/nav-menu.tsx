'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useEffect, useId, useRef, useState } from 'react';
import { SignOutButton } from './sign-out-button';

/**
 * The main menu on narrow screens (below `lg`): one button that opens the links and the
 * account as a panel under the header. It closes on Escape, on a click outside and when the
 * page changes.
 */
export function NavMenu({
  links,
  account,
}: {
  links: { href: string; label: string }[];
  account: { email: string; role: string } | null;
}) {
  const [open, setOpen] = useState(false);
  const [openedOn, setOpenedOn] = useState<string | null>(null);
  const pathname = usePathname();
  const panelId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  // Following a link closes the menu: it stays open only on the page it was opened on.
  const shown = open && openedOn === pathname;

  useEffect(() => {
    if (!shown) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [shown]);

  return (
    <div ref={root} className="ml-auto lg:hidden">
      <button
        ref={button}
        type="button"
        className="rounded border border-gray-300 px-3 py-1 hover:bg-gray-100"
        aria-expanded={shown}
        aria-controls={panelId}
        onClick={() => {
          setOpen(!shown);
          setOpenedOn(pathname);
        }}
        data-testid="nav-menu-button"
      >
        Menu
      </button>
      <div
        id={panelId}
        hidden={!shown}
        className="absolute inset-x-0 z-40 mt-2 border-b border-gray-200 bg-white px-4 pb-3 shadow-md"
        data-testid="nav-menu"
      >
        <ul className="flex flex-col">
          {links.map((link) => (
            <li key={link.href}>
              <Link
                href={link.href}
                className="block py-2 text-gray-800 hover:text-gray-950"
                aria-current={pathname === link.href ? 'page' : undefined}
              >
                {link.label}
              </Link>
            </li>
          ))}
        </ul>
        <div className="mt-2 flex flex-wrap items-center gap-3 border-t border-gray-200 pt-3 text-gray-600">
          {account ? (
            <>
              <span className="break-all">
                {account.email} ({account.role})
              </span>
              <SignOutButton />
            </>
          ) : (
            <Link href="/signin">Sign in</Link>
          )}
        </div>
      </div>
    </div>
  );
}
