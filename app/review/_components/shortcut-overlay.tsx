'use client';

import Link from 'next/link';
import { useEffect, useRef } from 'react';
import { Kbd } from './kbd';
import { keyLabel } from './review-api';

/**
 * The `?` overlay: every key the focus view answers to, the class keys from the catalogue's
 * map included. A native modal <dialog>: it traps the focus and closes on Escape by itself.
 */
export function ShortcutOverlay({
  open,
  onClose,
  classNames,
  classKeys,
  keysHref,
}: {
  open: boolean;
  onClose: () => void;
  classNames: string[];
  classKeys: (string | null)[];
  /** The admin's page for changing the class keys; absent for those who may not. */
  keysHref?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  const rows: [string[], string][] = [
    [['Enter'], "confirm the model's answer"],
    [['S'], 'skip: another reviewer gets it'],
    [['U'], 'unsure: another reviewer gets it'],
    [['Z', 'Backspace'], 'undo your last decision'],
    [['C'], 'contrast: stretch dark, flat images'],
    [['M'], 'zoom: a larger image'],
    [['?'], 'this list'],
    [['Esc'], 'close this list'],
  ];
  const unkeyed = classNames.filter((_, index) => !classKeys[index]);
  return (
    <dialog
      ref={dialog}
      onClose={onClose}
      aria-labelledby="shortcuts-heading"
      data-testid="shortcut-overlay"
      className="m-auto max-h-[90vh] w-[min(40rem,calc(100vw-2rem))] overflow-y-auto rounded border border-gray-300 bg-white p-5 text-sm text-gray-900 shadow-xl backdrop:bg-black/40"
    >
      <div className="flex items-baseline justify-between gap-4">
        <h2 id="shortcuts-heading" className="text-lg font-semibold">
          Keyboard shortcuts
        </h2>
        <button
          type="button"
          onClick={onClose}
          className="rounded border border-gray-300 px-2 py-0.5 text-sm hover:bg-gray-100"
        >
          Close
        </button>
      </div>
      <div className="mt-3 grid gap-5 sm:grid-cols-2">
        <section aria-labelledby="shortcuts-classes">
          <h3 id="shortcuts-classes" className="font-semibold text-gray-700">
            Choose the class
          </h3>
          <ul className="mt-1 flex flex-col gap-1" data-testid="shortcut-classes">
            {classNames.map((name, index) => {
              const key = classKeys[index];
              return key ? (
                <li key={name} className="flex items-center gap-2" data-class-index={index}>
                  <Kbd>{keyLabel(key)}</Kbd> {name}
                </li>
              ) : null;
            })}
          </ul>
          {unkeyed.length > 0 && (
            <p className="mt-1 text-xs text-gray-600">No key (click the button): {unkeyed.join(', ')}.</p>
          )}
          {keysHref && (
            <Link href={keysHref} className="mt-2 inline-block text-xs text-blue-700 underline">
              Change the class keys
            </Link>
          )}
        </section>
        <section aria-labelledby="shortcuts-actions">
          <h3 id="shortcuts-actions" className="font-semibold text-gray-700">
            Decide and view
          </h3>
          <ul className="mt-1 flex flex-col gap-1" data-testid="shortcut-actions">
            {rows.map(([keys, what]) => (
              <li key={what} className="flex items-center gap-2">
                <span className="flex gap-1">
                  {keys.map((key) => (
                    <Kbd key={key}>{key}</Kbd>
                  ))}
                </span>
                {what}
              </li>
            ))}
          </ul>
        </section>
      </div>
    </dialog>
  );
}
