'use client';

import { useEffect, useRef } from 'react';
import { Kbd } from './kbd';
import { classKey, itemImageUrl } from './review-api';
import { ReviewHeader, type CatalogueChoice } from './review-header';
import { ReviewStats } from './review-stats';
import { TopPredictions } from './top-predictions';
import { useFocusQueue } from './use-focus-queue';

const IMAGE_PX = 336; // 28 x 12: every source pixel a crisp 12x12 block

/** The focus view: one item at a time, driven by the keyboard (shortcuts listed on screen). */
export function FocusReview({
  catalogue,
  choices,
}: {
  catalogue: { slug: string; name: string; classNames: string[] };
  choices: CatalogueChoice[];
}) {
  const { classNames } = catalogue;
  const { view, message, stats, decide, undo, loadNext, start } = useFocusQueue(catalogue);
  const nameOf = (index: number) => classNames[index] ?? `class ${index}`;
  // The keyboard is the main input; handlers read the latest callbacks through a ref.
  const keys = useRef({ decide, undo });
  keys.current = { decide, undo };
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      const target = event.target instanceof Element ? event.target : null;
      if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
      const key = event.key;
      if (/^[0-9]$/.test(key)) {
        const index = key === '0' ? 9 : Number(key) - 1;
        if (index >= classNames.length) return;
        event.preventDefault();
        keys.current.decide('correct', index);
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
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [classNames.length]);

  const { phase, current } = view;
  const predicted = current?.predictedClass ?? null;

  return (
    <div className="flex flex-col gap-4">
      <ReviewHeader
        title="Review"
        catalogue={catalogue}
        choices={choices}
        basePath="/review"
        other={{ href: '/review/grid', label: 'Grid view: confirm a class in batches' }}
      >
        <ReviewStats stats={stats} />
      </ReviewHeader>

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
        <div className="grid gap-6 md:grid-cols-[auto_1fr]">
          <section
            aria-label={current ? `Item ${current.itemId}` : 'Loading the next item'}
            data-testid="review-item"
            data-item-id={current?.itemId ?? ''}
            aria-busy={phase === 'loading'}
          >
            <div
              className="flex items-center justify-center rounded border border-gray-300 bg-black"
              style={{ width: IMAGE_PX, height: IMAGE_PX }}
            >
              {current ? (
                // A plain <img>: next/image would resample the 28x28 PNG; `pixelated` keeps hard edges.
                <img
                  key={current.itemId}
                  src={itemImageUrl(current.itemId)}
                  alt={`Item ${current.itemId}`}
                  width={IMAGE_PX}
                  height={IMAGE_PX}
                  className="pixelated"
                  draggable={false}
                />
              ) : (
                <span className="text-sm text-gray-400">Loading the next item…</span>
              )}
            </div>
            <p className="mt-2 text-sm text-gray-600">{current ? `Item #${current.itemId}` : ' '}</p>
          </section>

          <div className="flex flex-col gap-5">
            <TopPredictions top={current?.top ?? []} scored={current ? current.predictedClass !== null : true} />

            <section aria-labelledby="classes-heading">
              <h2 id="classes-heading" className="text-sm font-semibold text-gray-600">
                Choose the class{' '}
                <span className="font-normal">(a number key; the model&apos;s answer confirms it)</span>
              </h2>
              <div className="mt-2 grid grid-cols-2 gap-1.5 sm:grid-cols-2 lg:grid-cols-3">
                {classNames.map((name, index) => {
                  const key = classKey(index);
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
                      {key ? <Kbd>{key}</Kbd> : <span className="min-w-[1.5em]" />}
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

      <footer className="border-t border-gray-200 pt-3 text-xs text-gray-600" data-testid="review-shortcuts">
        Shortcuts: <Kbd>1</Kbd>–<Kbd>9</Kbd>, <Kbd>0</Kbd> choose a class · <Kbd>Enter</Kbd> confirm the model&apos;s
        answer · <Kbd>S</Kbd> skip · <Kbd>U</Kbd> unsure · <Kbd>Z</Kbd> or <Kbd>Backspace</Kbd> undo the last decision
      </footer>
    </div>
  );
}
