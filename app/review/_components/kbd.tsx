import type { ReactNode } from 'react';

/** A key cap for the on-screen shortcuts. */
export function Kbd({ children }: { children: ReactNode }) {
  return (
    <kbd className="inline-block min-w-[1.5em] rounded border border-gray-300 bg-gray-50 px-1 text-center font-mono text-xs text-gray-700 shadow-sm">
      {children}
    </kbd>
  );
}
