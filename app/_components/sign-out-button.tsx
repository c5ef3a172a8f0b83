'use client';

import { signOut } from 'next-auth/react';

export function SignOutButton() {
  return (
    <button
      type="button"
      className="rounded border border-gray-300 px-2 py-0.5 hover:bg-gray-100"
      onClick={() => signOut({ callbackUrl: '/signin' })}
    >
      Sign out
    </button>
  );
}
