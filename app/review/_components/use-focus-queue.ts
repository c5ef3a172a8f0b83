'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { callApi, elapsedSince, newClientId, preloadImage, releaseOnExit, type ClaimedItem } from './review-api';
import { useReviewProgress } from './review-progress';
import { useReviewerStats } from './review-stats';
import { useHeldLeases } from './use-held-leases';

export type FocusPhase = 'loading' | 'ready' | 'empty' | 'failed';
export type DecisionAction = 'confirm' | 'correct' | 'skip' | 'unsure';
export type Message = { tone: 'info' | 'success' | 'error'; text: string };

interface SubmitAnswer {
  review: { itemId: number; action: DecisionAction; modelLabel: number | null; chosenLabel: number | null };
  replayed: boolean;
}
interface UndoAnswer {
  undone: { itemId: number; action: DecisionAction; chosenLabel: number | null };
  item: ClaimedItem | null;
}

/**
 * The focus view's queue: the item on screen and one prefetched behind it, so the reviewer
 * never waits. A decision shows the next item at once and is sent in the background (retried
 * with the same client id). Every call that changes the reviewer's holds runs in one serial
 * chain, so a prefetch never runs before the submit of the item it must not hand back.
 */
export function useFocusQueue(catalogue: { slug: string; classNames: string[] }) {
  const { classNames } = catalogue;
  const [view, setView] = useState<{ phase: FocusPhase; current: ClaimedItem | null }>({
    phase: 'loading',
    current: null,
  });
  const [message, setMessage] = useState<Message | null>(null);
  const { stats, refresh: refreshOwnStats } = useReviewerStats();
  const { progress, refresh: refreshProgress } = useReviewProgress(catalogue.slug);
  const refreshStats = useCallback(() => {
    refreshOwnStats();
    refreshProgress();
  }, [refreshOwnStats, refreshProgress]);
  const state = useRef({
    current: null as ClaimedItem | null,
    upcoming: [] as ClaimedItem[],
    phase: 'loading' as FocusPhase,
    shownAt: 0,
    started: false,
    alive: true,
    undoing: false,
  });
  const chain = useRef<Promise<unknown>>(Promise.resolve());

  const nameOf = useCallback(
    (index: number | null) => (index === null ? 'no class' : (classNames[index] ?? `class ${index}`)),
    [classNames],
  );

  const serial = useCallback(<T>(task: () => Promise<T>): Promise<T> => {
    const run = chain.current.then(task);
    chain.current = run.catch(() => undefined);
    return run;
  }, []);

  const heldIds = useCallback(() => {
    const s = state.current;
    return [...(s.current ? [s.current.itemId] : []), ...s.upcoming.map((item) => item.itemId)];
  }, []);

  const show = useCallback((phase: FocusPhase, item: ClaimedItem | null) => {
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

  const claim = useCallback(
    (holding: number[]) =>
      callApi<{ item: ClaimedItem | null }>('/api/v1/queue/claim', {
        body: { catalogue: catalogue.slug, holding: holding.slice(0, 5) },
      }),
    [catalogue.slug],
  );

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
        if (!item) refreshProgress();
      }).then(() => prefetch()),
    [claim, heldIds, keep, prefetch, refreshProgress, serial, show],
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
    (action: DecisionAction, label?: number) => {
      const s = state.current;
      const item = s.current;
      if (!item || s.phase !== 'ready') return;
      if (action === 'confirm' && item.predictedClass === null) {
        setMessage({ tone: 'error', text: 'The model has not scored this item: choose its class with a number key.' });
        return;
      }
      // A clicked button keeps the focus, and Enter would then click it again instead of confirming.
      if (document.activeElement instanceof HTMLElement && document.activeElement.closest('button'))
        document.activeElement.blur();
      // Choosing the model's own answer is a confirm; the server would record it as one anyway.
      const chosen = action === 'correct' && label === item.predictedClass ? 'confirm' : action;
      const body = {
        itemId: item.itemId,
        action: chosen,
        label: chosen === 'correct' ? label : undefined,
        clientId: newClientId(),
        durationMs: elapsedSince(s.shownAt),
        modelVersionId: item.modelVersionId,
      };
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
        setMessage({
          tone: 'error',
          text: result.status === 404 ? 'There is no decision of yours left to undo.' : result.message,
        });
        return;
      }
      const { undone, item } = result.data;
      refreshStats();
      if (!item) {
        setMessage({
          tone: 'info',
          text: `Item #${undone.itemId}: your decision was undone; the item went back to the queue.`,
        });
        return;
      }
      if (!keep(item)) return;
      if (s.current && s.current.itemId !== item.itemId) s.upcoming.unshift(s.current);
      show('ready', item);
      preloadImage(item.itemId);
      setMessage({
        tone: 'info',
        text: `Item #${undone.itemId}: undid “${undone.action === 'correct' ? `corrected to ${nameOf(undone.chosenLabel)}` : `confirmed ${nameOf(undone.chosenLabel)}`}”. Decide it again.`,
      });
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
        setMessage({
          tone: 'error',
          text: `Item #${s.current.itemId}: your hold expired and it went back to the queue; here is the next one.`,
        });
        advance();
      } else {
        void prefetch();
      }
    },
    onResume: start,
  });

  return { view, message, stats, progress, decide, undo, loadNext, start };
}
