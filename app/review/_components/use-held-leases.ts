'use client';

import { useEffect, useRef } from 'react';
import { callApi, HEARTBEAT_MS, releaseOnExit } from './review-api';

interface HeldLeases {
  /** The items the page holds right now (on screen, prefetched, in the grid). */
  heldIds: () => number[];
  /** Items whose hold lapsed (a laptop slept): the page drops them. */
  onLost: (itemIds: number[]) => void;
  /** The page came back from the back/forward cache after releasing everything: claim again. */
  onResume: () => void;
}

/**
 * Keeps the page's leases alive while it is open and gives them back when it goes away
 * (closed, reloaded, navigated off, put in the back/forward cache), so a closed tab frees its
 * items at once instead of after the lease runs out.
 */
export function useHeldLeases(handlers: HeldLeases): void {
  const latest = useRef(handlers);
  latest.current = handlers;

  useEffect(() => {
    const beat = async () => {
      const ids = latest.current.heldIds();
      if (ids.length === 0) return;
      const result = await callApi<{ renewed: { itemId: number }[]; lost: number[] }>('/api/v1/queue/heartbeat', {
        body: { itemIds: ids },
        retries: 1,
      });
      if (!result.ok) return;
      // Only what the page still holds: an item decided meanwhile is not "lost".
      const stillHeld = new Set(latest.current.heldIds());
      const lost = result.data.lost.filter((id) => stillHeld.has(id));
      if (lost.length > 0) latest.current.onLost(lost);
    };
    const timer = window.setInterval(() => void beat(), HEARTBEAT_MS);
    const onPageHide = () => releaseOnExit(latest.current.heldIds());
    const onPageShow = (event: PageTransitionEvent) => {
      if (event.persisted) latest.current.onResume();
    };
    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      // Navigating inside the app unmounts the page without a pagehide.
      releaseOnExit(latest.current.heldIds());
    };
  }, []);
}
