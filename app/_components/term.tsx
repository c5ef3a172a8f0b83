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
        className="absolute top-full left-0 z-20 mt-1 w-max max-w-[min(18rem,80vw)] rounded bg-gray-900 px-2 py-1 text-xs font-normal whitespace-normal text-white shadow dark:bg-gray-100 dark:text-gray-900"
      >
        {explanation}
      </span>
    </span>
  );
}

/** The models page's and the projection's vocabulary, one line each. */
export const TERMS = {
  temperature:
    'T, the temperature: the model’s scores are divided by T before the softmax so that its confidence matches how often it is right (T > 1 tones confidence down).',
  ece: 'ECE, expected calibration error: the average gap between the confidence the model states and the accuracy it reaches, over 15 confidence bins; lower is better.',
  holdout: 'Holdout: items with trusted labels that no model trains on, used to compare versions fairly.',
  heldOutHuman:
    'Held-out human labels: about one in five reviewer labels, never trained on, to check a candidate learned from reviewers.',
  replay: 'Replay: earlier training images mixed into fine-tuning so the model does not forget what it knew.',
  gate: 'The gate: a candidate is promoted only if its holdout accuracy drops by no more than the allowed margin and its accuracy on held-out human labels improves.',
  threshold:
    'Threshold: a prediction whose calibrated confidence reaches it is accepted without review; below it, the item goes to the review queue.',
} as const;
