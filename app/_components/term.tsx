'use client';

import { useId, useState, type ReactNode } from 'react';

/**
 * A piece of jargon (T, ECE, holdout) with its one-line explanation: shown on hover, on
 * keyboard focus (the term is a button, so Tab reaches it) and on a tap (touch has no hover);
 * Escape hides it. The explanation is the button's accessible description either way.
 */
export function Term({ children, explanation }: { children: ReactNode; explanation: string }) {
  const [pinned, setPinned] = useState(false);
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const id = useId();
  const shown = pinned || hovered || focused;
  return (
    <span
      className="relative inline-block"
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
    >
      <button
        type="button"
        aria-describedby={id}
        data-testid="term"
        onClick={() => setPinned((p) => !p)}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          setPinned(false);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            setPinned(false);
            setFocused(false);
            setHovered(false);
          }
        }}
        className="cursor-help border-b border-dotted border-current text-inherit"
      >
        {children}
      </button>
      <span
        id={id}
        role="tooltip"
        hidden={!shown}
        className="absolute top-full left-0 z-20 mt-1 w-max max-w-[min(18rem,80vw)] rounded bg-gray-900 px-2 py-1 text-xs font-normal whitespace-normal text-white shadow"
      >
        {explanation}
      </span>
    </span>
  );
}
