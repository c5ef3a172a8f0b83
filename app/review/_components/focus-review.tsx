'use client';

import { useEffect, useRef, useState } from 'react';
import { ItemImage } from './item-image';
import { Kbd } from './kbd';
import { classForKey, keyLabel } from './review-api';
import { ReviewHeader, type CatalogueChoice } from './review-header';
import { ReviewProgress } from './review-progress';
import { ReviewStats } from './review-stats';
import { ShortcutOverlay } from './shortcut-overlay';
import { TopPredictions } from './top-predictions';
import { useDisplaySettings } from './use-display-settings';
import { useFocusQueue } from './use-focus-queue';

const IMAGE_PX = 336; // 28 x 12: every source pixel a crisp 12x12 block
const ZOOMED_PX = 504; // 28 x 18; both shrink to the screen's width on a phone

/** The focus view: one item at a time, driven by the keyboard (shortcuts listed on screen). */
export function FocusReview({
  catalogue,
  choices,
  keysHref,
}: {
  catalogue: { slug: string; name: string; classNames: string[]; classKeys: (string | null)[] };
  choices: CatalogueChoice[];
  /** The page for changing the class keys, for those who may (admins). */
  keysHref?: string;
}) {
  const { classNames, classKeys } = catalogue;
  const { view, message, stats, progress, decide, undo, loadNext, start } = useFocusQueue(catalogue);
  const { display, toggle } = useDisplaySettings();
  const [overlayOpen, setOverlayOpen] = useState(false);
  const nameOf = (index: number) => classNames[index] ?? `class ${index}`;
  // The keyboard is the main input; handlers read the latest callbacks through a ref.
  const keys = useRef({ decide, undo, toggle, overlayOpen });
  keys.current = { decide, undo, toggle, overlayOpen };
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      // The open overlay (a modal dialog) closes itself on Escape; no other key acts under it.
      if (keys.current.overlayOpen) return;
      const target = event.target instanceof Element ? event.target : null;
      if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
      const key = event.key;
      const classIndex = classForKey(classKeys, key);
      if (key === '?') {
        event.preventDefault();
        setOverlayOpen(true);
      } else if (classIndex !== null) {
        event.preventDefault();
        keys.current.decide('correct', classIndex);
      } else if (key === 'Enter') {
        // Enter on a focused button or link activates it instead.
        if (target?.closest('button, a')) return;
        event.preventDefault();
        keys.current.decide('confirm');
      } else if (key === 's' || key === 'S') {
        keys.current.decide('skip');
      } else if (key === 'u' || key === 'U') {
        keys.current.decide('unsure');
      } else if (key === 'z' || key === 'Z' || key === 'Backspace') {
        event.preventDefault();
        keys.current.undo();
      } else if (key === 'c' || key === 'C') {
        keys.current.toggle('contrast');
      } else if (key === 'm' || key === 'M') {
        keys.current.toggle('zoom');
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [classKeys]);
  const imagePx = display.zoom ? ZOOMED_PX : IMAGE_PX;

  const { phase, current } = view;
  const predicted = current?.predictedClass ?? null;

  return (
    <div className="flex min-w-0 flex-col gap-4" data-testid="review-view">
      <ReviewHeader
        title="Review"
        catalogue={catalogue}
        choices={choices}
        basePath="/review"
        other={{ href: '/review/grid', label: 'Grid view: confirm a class in batches' }}
      >
        <ReviewStats stats={stats} />
      </ReviewHeader>
      <ReviewProgress progress={progress} />

      <p
        role="status"
        aria-live="polite"
        data-testid="review-message"
        data-tone={message?.tone ?? ''}
        className={`min-h-6 text-sm ${message?.tone === 'error' ? 'font-medium text-red-700' : message?.tone === 'success' ? 'text-green-800' : 'text-gray-700'}`}
      >
        {message?.text ?? ''}
      </p>

      {phase === 'empty' && (
        <section data-testid="review-empty" className="rounded border border-gray-200 bg-white p-6">
          <h2 className="text-lg font-semibold">Nothing to review</h2>
          <p className="mt-1 text-gray-700">
            No items of {catalogue.name} need your review right now. Items you skipped or marked unsure go to other
            reviewers.
          </p>
          <button
            type="button"
            className="mt-3 rounded border border-gray-300 px-3 py-1 text-sm hover:bg-gray-100"
            onClick={() => void loadNext()}
          >
            Check again
          </button>
        </section>
      )}
      {phase === 'failed' && (
        <section className="rounded border border-red-200 bg-white p-6">
          <button
            type="button"
            className="rounded border border-gray-300 px-3 py-1 text-sm hover:bg-gray-100"
            onClick={start}
          >
            Try again
          </button>
        </section>
      )}

      {(phase === 'ready' || phase === 'loading') && (
        <div className="grid grid-cols-1 gap-6 md:grid-cols-[auto_1fr]">
          <section
            className="min-w-0"
            aria-label={current ? `Item ${current.itemId}` : 'Loading the next item'}
            data-testid="review-item"
            data-item-id={current?.itemId ?? ''}
            aria-busy={phase === 'loading'}
          >
            <div
              className="flex aspect-square max-w-full items-center justify-center rounded border border-gray-300 bg-black"
              style={{ width: imagePx }}
              data-testid="review-image-box"
              data-zoom={display.zoom}
            >
              {current ? (
                <ItemImage
                  key={current.itemId}
                  itemId={current.itemId}
                  contrast={display.contrast}
                  alt={`Item ${current.itemId}`}
                  className="h-full w-full"
                />
              ) : (
                <span className="text-sm text-gray-400">Loading the next item…</span>
              )}
            </div>
            <div className="mt-2 flex flex-wrap items-center gap-2 text-sm text-gray-600">
              <span className="mr-auto">{current ? `Item #${current.itemId}` : ' '}</span>
              <DisplayToggle
                testId="toggle-contrast"
                keyName="C"
                label="Contrast"
                pressed={display.contrast}
                onToggle={() => toggle('contrast')}
              />
              <DisplayToggle
                testId="toggle-zoom"
                keyName="M"
                label="Zoom"
                pressed={display.zoom}
                onToggle={() => toggle('zoom')}
              />
            </div>
          </section>

          <div className="flex flex-col gap-5">
            <TopPredictions
              top={current?.top ?? []}
              scored={current ? current.predictedClass !== null : true}
              classKeys={classKeys}
            />

            <section aria-labelledby="classes-heading">
              <h2 id="classes-heading" className="text-sm font-semibold text-gray-600">
                Choose the class <span className="font-normal">(its key; the model&apos;s answer confirms it)</span>
              </h2>
              <div className="mt-2 grid grid-cols-2 gap-1.5 sm:grid-cols-2 lg:grid-cols-3">
                {classNames.map((name, index) => {
                  const key = classKeys[index] ?? null;
                  const isModel = index === predicted;
                  return (
                    <button
                      key={name}
                      type="button"
                      data-testid={`class-option-${index}`}
                      aria-keyshortcuts={key ?? undefined}
                      disabled={phase !== 'ready'}
                      onClick={() => decide('correct', index)}
                      className={`flex items-center gap-2 rounded border px-2 py-1.5 text-left text-sm disabled:opacity-50 ${isModel ? 'border-blue-500 bg-blue-50' : 'border-gray-300 bg-white hover:bg-gray-100'}`}
                    >
                      {key ? <Kbd>{keyLabel(key)}</Kbd> : <span className="min-w-[1.5em]" />}
                      <span>{name}</span>
                      {isModel && <span className="ml-auto text-xs text-blue-700">model</span>}
                    </button>
                  );
                })}
              </div>
            </section>

            <section aria-label="Decisions" className="flex flex-wrap gap-2">
              <button
                type="button"
                data-testid="action-confirm"
                aria-keyshortcuts="Enter"
                disabled={phase !== 'ready' || predicted === null}
                onClick={() => decide('confirm')}
                className="flex items-center gap-2 rounded bg-gray-900 px-3 py-1.5 text-sm text-white disabled:opacity-50"
              >
                <Kbd>Enter</Kbd> Confirm{predicted !== null ? `: ${nameOf(predicted)}` : ''}
              </button>
              <button
                type="button"
                data-testid="action-skip"
                aria-keyshortcuts="S"
                disabled={phase !== 'ready'}
                onClick={() => decide('skip')}
                className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50"
              >
                <Kbd>S</Kbd> Skip
              </button>
              <button
                type="button"
                data-testid="action-unsure"
                aria-keyshortcuts="U"
                disabled={phase !== 'ready'}
                onClick={() => decide('unsure')}
                className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50"
              >
                <Kbd>U</Kbd> Unsure
              </button>
              <button
                type="button"
                data-testid="action-undo"
                aria-keyshortcuts="Z Backspace"
                onClick={undo}
                className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100"
              >
                <Kbd>Z</Kbd> Undo last
              </button>
            </section>
          </div>
        </div>
      )}

      <footer
        className="flex flex-wrap items-center gap-x-2 gap-y-1 border-t border-gray-200 pt-3 text-xs text-gray-600"
        data-testid="review-shortcuts"
      >
        <span>
          Shortcuts: the class keys above choose a class · <Kbd>Enter</Kbd> confirm the model&apos;s answer ·{' '}
          <Kbd>S</Kbd> skip · <Kbd>U</Kbd> unsure · <Kbd>Z</Kbd> or <Kbd>Backspace</Kbd> undo the last decision ·{' '}
          <Kbd>C</Kbd> contrast · <Kbd>M</Kbd> zoom
        </span>
        <button
          type="button"
          data-testid="open-shortcuts"
          aria-keyshortcuts="?"
          onClick={() => setOverlayOpen(true)}
          className="flex items-center gap-1 rounded border border-gray-300 bg-white px-2 py-0.5 hover:bg-gray-100"
        >
          <Kbd>?</Kbd> All shortcuts
        </button>
      </footer>
      <ShortcutOverlay
        open={overlayOpen}
        onClose={() => setOverlayOpen(false)}
        classNames={classNames}
        classKeys={classKeys}
        keysHref={keysHref}
      />
    </div>
  );
}

/** A display setting's button (contrast, zoom): its key, its name, and whether it is on. */
function DisplayToggle(props: {
  testId: string;
  keyName: string;
  label: string;
  pressed: boolean;
  onToggle: () => void;
}) {
  return (
    <button
      type="button"
      data-testid={props.testId}
      aria-pressed={props.pressed}
      aria-keyshortcuts={props.keyName}
      onClick={(event) => {
        props.onToggle();
        // A mouse click (detail > 0) gives the focus back to the page, so that Enter confirms
        // the item instead of toggling this again; Enter or Space on the button keeps it there.
        if (event.detail > 0) event.currentTarget.blur();
      }}
      className={`flex items-center gap-1.5 rounded border px-2 py-0.5 ${props.pressed ? 'border-blue-500 bg-blue-50' : 'border-gray-300 bg-white hover:bg-gray-100'}`}
    >
      <Kbd>{props.keyName}</Kbd> {props.label}
    </button>
  );
}
