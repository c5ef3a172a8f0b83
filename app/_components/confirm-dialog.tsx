'use client';

import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';

export interface ConfirmOptions {
  title: string;
  /** What will happen, in a sentence or two; a ReactNode so a count or a name can be marked up. */
  body: ReactNode;
  /** The confirming button says what it does ("Promote", "Save and move 420 items"), never just "OK". */
  confirmLabel: string;
  cancelLabel?: string;
  /** 'danger' paints the confirming button red (overriding a gate, moving many items). */
  tone?: 'default' | 'danger';
}

const FOCUSABLE =
  'button:not([disabled]), [href], input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';

/**
 * A modal confirmation in place of the browser's `confirm()`: a native `<dialog>` opened with
 * `showModal()` (the page behind is inert and `role=dialog` + `aria-modal` come with it),
 * titled and described for screen readers, Tab kept inside, Escape or Cancel answers no, and
 * focus returns to what opened it. Cancel has the focus first: Enter alone never confirms.
 */
export function ConfirmDialog({
  open,
  options,
  onAnswer,
}: {
  open: boolean;
  options: ConfirmOptions | null;
  onAnswer: (confirmed: boolean) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const opener = useRef<Element | null>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      opener.current = document.activeElement;
      dialog.showModal();
      cancelRef.current?.focus();
    } else if (!open) {
      // The browser may have closed it already (a second Escape is not cancelable).
      if (dialog.open) dialog.close();
      const back = opener.current;
      opener.current = null;
      if (back instanceof HTMLElement && back.isConnected) back.focus();
    }
  }, [open]);

  const tone = options?.tone ?? 'default';
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      data-testid="confirm-dialog"
      className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-lg border border-gray-300 bg-white p-0 text-gray-900 shadow-xl backdrop:bg-black/40"
      // Escape: the browser fires `cancel` and would close the dialog itself; answer no instead.
      onCancel={(event) => {
        event.preventDefault();
        onAnswer(false);
      }}
      // Closed by the browser without a cancel we could stop: still a no.
      onClose={() => {
        if (open) onAnswer(false);
      }}
      onKeyDown={(event) => {
        if (event.key !== 'Tab' || !ref.current) return;
        // showModal makes the page inert, but Tab can still leave for the browser's own UI: wrap it.
        const focusable = [...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
        const first = focusable[0];
        const last = focusable.at(-1);
        if (!first || !last) return;
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }}
    >
      {options && (
        <div className="flex flex-col gap-3 p-5">
          <h2 id={titleId} className="text-lg font-semibold">
            {options.title}
          </h2>
          <div id={bodyId} className="text-sm break-words whitespace-pre-line text-gray-700">
            {options.body}
          </div>
          <div className="mt-2 flex flex-wrap justify-end gap-2">
            <button
              ref={cancelRef}
              type="button"
              onClick={() => onAnswer(false)}
              className="rounded border border-gray-300 px-3 py-1.5 text-sm hover:bg-gray-100"
            >
              {options.cancelLabel ?? 'Cancel'}
            </button>
            <button
              type="button"
              onClick={() => onAnswer(true)}
              className={`rounded px-3 py-1.5 text-sm text-white ${tone === 'danger' ? 'bg-red-700 hover:bg-red-800' : 'bg-gray-900 hover:bg-gray-700'}`}
            >
              {options.confirmLabel}
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}

/**
 * `const [confirm, dialog] = useConfirm();` then `if (await confirm({...})) act();` and render
 * `{dialog}` once in the component. One question at a time: asking again answers the open one no.
 */
export function useConfirm(): [(options: ConfirmOptions) => Promise<boolean>, ReactNode] {
  const [options, setOptions] = useState<ConfirmOptions | null>(null);
  const resolver = useRef<((confirmed: boolean) => void) | null>(null);
  const answer = useCallback((confirmed: boolean) => {
    resolver.current?.(confirmed);
    resolver.current = null;
    setOptions(null);
  }, []);
  const confirm = useCallback((next: ConfirmOptions) => {
    resolver.current?.(false);
    setOptions(next);
    return new Promise<boolean>((resolve) => {
      resolver.current = resolve;
    });
  }, []);
  // A component unmounted with its question open answers no, so no caller waits forever.
  useEffect(() => () => resolver.current?.(false), []);
  return [confirm, <ConfirmDialog key="confirm" open={options !== null} options={options} onAnswer={answer} />];
}
