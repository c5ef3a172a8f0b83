'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { Kbd } from './kbd';
import { callApi, classKey, elapsedSince, itemImageUrl, newClientId, preloadImage, releaseOnExit, type ClaimedItem } from './review-api';
import { ReviewHeader, type CatalogueChoice } from './review-header';
import { ReviewStats, useReviewerStats } from './review-stats';
import { TopPredictions } from './top-predictions';
import { useHeldLeases } from './use-held-leases';

type Phase = 'loading' | 'ready' | 'empty' | 'failed';
type Action = 'confirm' | 'correct' | 'skip' | 'unsure';
type Message = { tone: 'info' | 'success' | 'error'; text: string };

interface SubmitAnswer {
  review: { itemId: number; action: Action; modelLabel: number | null; chosenLabel: number | null };
  replayed: boolean;
}
interface UndoAnswer {
  undone: { itemId: number; action: Action; chosenLabel: number | null };
  item: ClaimedItem | null;
}

const IMAGE_PX = 336; // 28 x 12: every source pixel a crisp 12x12 block

/**
 * The focus view: one item at a time, driven by the keyboard. The next item is claimed
 * (prefetched) while the reviewer looks at this one; a decision shows the next at once and is
 * sent in the background. Every call that changes the reviewer's holds runs in one serial
 * chain, so a prefetch never runs before the submit of the item it must not hand back.
 */
export function FocusReview({ catalogue, choices }: { catalogue: { slug: string; name: string; classNames: string[] }; choices: CatalogueChoice[] }) {
  const { classNames } = catalogue;
  const [view, setView] = useState<{ phase: Phase; current: ClaimedItem | null }>({ phase: 'loading', current: null });
  const [message, setMessage] = useState<Message | null>(null);
  const { stats, refresh: refreshStats } = useReviewerStats();
  const state = useRef({ current: null as ClaimedItem | null, upcoming: [] as ClaimedItem[], phase: 'loading' as Phase, shownAt: 0, started: false, alive: true, undoing: false });
  const chain = useRef<Promise<unknown>>(Promise.resolve());

  const nameOf = useCallback((index: number | null) => (index === null ? 'no class' : (classNames[index] ?? `class ${index}`)), [classNames]);

  const serial = useCallback(<T,>(task: () => Promise<T>): Promise<T> => {
    const run = chain.current.then(task);
    chain.current = run.catch(() => undefined);
    return run;
  }, []);

  const heldIds = useCallback(() => {
    const s = state.current;
    return [...(s.current ? [s.current.itemId] : []), ...s.upcoming.map((item) => item.itemId)];
  }, []);

  const show = useCallback((phase: Phase, item: ClaimedItem | null) => {
    const s = state.current;
    s.current = item;
    s.phase = phase;
    s.shownAt = performance.now();
    setView({ phase, current: item });
  }, []);

  /** A claim answered after the page went away is given straight back. */
  const keep = useCallback((item: ClaimedItem) => {
    if (state.current.alive) return true;
    releaseOnExit([item.itemId]);
    return false;
  }, []);

  const claim = useCallback((holding: number[]) => callApi<{ item: ClaimedItem | null }>('/api/v1/queue/claim', { body: { catalogue: catalogue.slug, holding: holding.slice(0, 5) } }), [catalogue.slug]);

  const prefetch = useCallback(
    () =>
      serial(async () => {
        const s = state.current;
        if (!s.current || s.upcoming.length > 0) return;
        const result = await claim(heldIds());
        if (!result.ok || !result.data.item || !keep(result.data.item)) return;
        if (heldIds().includes(result.data.item.itemId)) return;
        s.upcoming.push(result.data.item);
        preloadImage(result.data.item.itemId);
      }),
    [claim, heldIds, keep, serial],
  );

  const loadNext = useCallback(
    () =>
      serial(async () => {
        if (state.current.current) return; // an undo filled the screen meanwhile
        const result = await claim(heldIds());
        if (!result.ok) {
          show('failed', null);
          setMessage({ tone: 'error', text: `The next item could not be loaded: ${result.message}` });
          return;
        }
        const item = result.data.item;
        if (item && !keep(item)) return;
        if (state.current.current) return;
        show(item ? 'ready' : 'empty', item);
      }).then(() => prefetch()),
    [claim, heldIds, keep, prefetch, serial, show],
  );

  const advance = useCallback(() => {
    const s = state.current;
    const next = s.upcoming.shift();
    if (next) {
      show('ready', next);
      void prefetch();
    } else {
      show('loading', null);
      void loadNext();
    }
  }, [loadNext, prefetch, show]);

  const describe = useCallback(
    (review: SubmitAnswer['review']) => {
      switch (review.action) {
        case 'confirm':
          return `Item #${review.itemId}: confirmed ${nameOf(review.chosenLabel)}.`;
        case 'correct':
          return `Item #${review.itemId}: corrected to ${nameOf(review.chosenLabel)} (the model said ${nameOf(review.modelLabel)}).`;
        case 'skip':
          return `Item #${review.itemId}: skipped; it goes to another reviewer.`;
        case 'unsure':
          return `Item #${review.itemId}: marked unsure; it goes to another reviewer.`;
      }
    },
    [nameOf],
  );

  const decide = useCallback(
    (action: Action, label?: number) => {
      const s = state.current;
      const item = s.current;
      if (!item || s.phase !== 'ready') return;
      if (action === 'confirm' && item.predictedClass === null) {
        setMessage({ tone: 'error', text: 'The model has not scored this item: choose its class with a number key.' });
        return;
      }
      // A clicked button keeps the focus, and Enter would then click it again instead of confirming.
      if (document.activeElement instanceof HTMLElement && document.activeElement.closest('button')) document.activeElement.blur();
      // Choosing the model's own answer is a confirm; the server would record it as one anyway.
      const chosen = action === 'correct' && label === item.predictedClass ? 'confirm' : action;
      const body = { itemId: item.itemId, action: chosen, label: chosen === 'correct' ? label : undefined, clientId: newClientId(), durationMs: elapsedSince(s.shownAt), modelVersionId: item.modelVersionId };
      // Queued before advance() queues the prefetch: a claim that ran first would hand this item back.
      void serial(async () => {
        const result = await callApi<SubmitAnswer>('/api/v1/reviews', { body });
        if (result.ok) {
          setMessage({ tone: 'success', text: describe(result.data.review) });
          refreshStats();
        } else {
          setMessage({ tone: 'error', text: `Item #${item.itemId} was not recorded: ${result.message}` });
        }
      });
      advance();
    },
    [advance, describe, refreshStats, serial],
  );

  const undo = useCallback(() => {
    const s = state.current;
    if (s.undoing) return;
    s.undoing = true;
    setMessage({ tone: 'info', text: 'Undoing your last decision…' });
    const clientId = newClientId();
    void serial(async () => {
      const result = await callApi<UndoAnswer>('/api/v1/reviews/undo', { body: { clientId } });
      s.undoing = false;
      if (!result.ok) {
        setMessage({ tone: 'error', text: result.status === 404 ? 'There is no decision of yours left to undo.' : result.message });
        return;
      }
      const { undone, item } = result.data;
      refreshStats();
      if (!item) {
        setMessage({ tone: 'info', text: `Item #${undone.itemId}: your decision was undone; the item went back to the queue.` });
        return;
      }
      if (!keep(item)) return;
      if (s.current && s.current.itemId !== item.itemId) s.upcoming.unshift(s.current);
      show('ready', item);
      preloadImage(item.itemId);
      setMessage({ tone: 'info', text: `Item #${undone.itemId}: undid “${undone.action === 'correct' ? `corrected to ${nameOf(undone.chosenLabel)}` : `confirmed ${nameOf(undone.chosenLabel)}`}”. Decide it again.` });
    });
  }, [keep, nameOf, refreshStats, serial, show]);

  const start = useCallback(() => {
    state.current.upcoming = [];
    show('loading', null);
    void loadNext();
  }, [loadNext, show]);

  useEffect(() => {
    const s = state.current;
    s.alive = true;
    // Once per mount, even when React runs effects twice in development.
    if (!s.started) {
      s.started = true;
      start();
    }
    return () => {
      s.alive = false;
    };
  }, [start]);

  useHeldLeases({
    heldIds,
    onLost: (lost) => {
      const s = state.current;
      s.upcoming = s.upcoming.filter((item) => !lost.includes(item.itemId));
      if (s.current && lost.includes(s.current.itemId)) {
        setMessage({ tone: 'error', text: `Item #${s.current.itemId}: your hold expired and it went back to the queue; here is the next one.` });
        advance();
      } else {
        void prefetch();
      }
    },
    onResume: start,
  });

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
      <ReviewHeader title="Review" catalogue={catalogue} choices={choices} basePath="/review" other={{ href: '/review/grid', label: 'Grid view: confirm a class in batches' }}>
        <ReviewStats stats={stats} />
      </ReviewHeader>

      <p role="status" aria-live="polite" data-testid="review-message" data-tone={message?.tone ?? ''} className={`min-h-6 text-sm ${message?.tone === 'error' ? 'font-medium text-red-700' : message?.tone === 'success' ? 'text-green-800' : 'text-gray-700'}`}>
        {message?.text ?? ''}
      </p>

      {phase === 'empty' && (
        <section data-testid="review-empty" className="rounded border border-gray-200 bg-white p-6">
          <h2 className="text-lg font-semibold">Nothing to review</h2>
          <p className="mt-1 text-gray-700">No items of {catalogue.name} need your review right now. Items you skipped or marked unsure go to other reviewers.</p>
          <button type="button" className="mt-3 rounded border border-gray-300 px-3 py-1 text-sm hover:bg-gray-100" onClick={() => void loadNext()}>
            Check again
          </button>
        </section>
      )}
      {phase === 'failed' && (
        <section className="rounded border border-red-200 bg-white p-6">
          <button type="button" className="rounded border border-gray-300 px-3 py-1 text-sm hover:bg-gray-100" onClick={start}>
            Try again
          </button>
        </section>
      )}

      {(phase === 'ready' || phase === 'loading') && (
        <div className="grid gap-6 md:grid-cols-[auto_1fr]">
          <section aria-label={current ? `Item ${current.itemId}` : 'Loading the next item'} data-testid="review-item" data-item-id={current?.itemId ?? ''} aria-busy={phase === 'loading'}>
            <div className="flex items-center justify-center rounded border border-gray-300 bg-black" style={{ width: IMAGE_PX, height: IMAGE_PX }}>
              {current ? (
                // A plain <img>: next/image would resample the 28x28 PNG; `pixelated` keeps hard edges.
                <img key={current.itemId} src={itemImageUrl(current.itemId)} alt={`Item ${current.itemId}`} width={IMAGE_PX} height={IMAGE_PX} className="pixelated" draggable={false} />
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
                Choose the class <span className="font-normal">(a number key; the model's answer confirms it)</span>
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
              <button type="button" data-testid="action-confirm" aria-keyshortcuts="Enter" disabled={phase !== 'ready' || predicted === null} onClick={() => decide('confirm')} className="flex items-center gap-2 rounded bg-gray-900 px-3 py-1.5 text-sm text-white disabled:opacity-50">
                <Kbd>Enter</Kbd> Confirm{predicted !== null ? `: ${nameOf(predicted)}` : ''}
              </button>
              <button type="button" data-testid="action-skip" aria-keyshortcuts="S" disabled={phase !== 'ready'} onClick={() => decide('skip')} className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50">
                <Kbd>S</Kbd> Skip
              </button>
              <button type="button" data-testid="action-unsure" aria-keyshortcuts="U" disabled={phase !== 'ready'} onClick={() => decide('unsure')} className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50">
                <Kbd>U</Kbd> Unsure
              </button>
              <button type="button" data-testid="action-undo" aria-keyshortcuts="Z Backspace" onClick={undo} className="flex items-center gap-2 rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100">
                <Kbd>Z</Kbd> Undo last
              </button>
            </section>
          </div>
        </div>
      )}

      <footer className="border-t border-gray-200 pt-3 text-xs text-gray-600" data-testid="review-shortcuts">
        Shortcuts: <Kbd>1</Kbd>–<Kbd>9</Kbd>, <Kbd>0</Kbd> choose a class · <Kbd>Enter</Kbd> confirm the model&apos;s answer · <Kbd>S</Kbd> skip · <Kbd>U</Kbd> unsure · <Kbd>Z</Kbd> or <Kbd>Backspace</Kbd> undo the last decision
      </footer>
    </div>
  );
}
