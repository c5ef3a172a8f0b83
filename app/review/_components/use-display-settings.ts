'use client';

import { useCallback, useEffect, useState } from 'react';

/** How the review pages show images: remembered per browser (localStorage), for every catalogue. */
export interface DisplaySettings {
  /** Auto-contrast: stretch each image's gray levels to black..white (lib/review/contrast.ts). */
  contrast: boolean;
  /** The focus view's larger image. */
  zoom: boolean;
}

const STORAGE_KEY = 'loupe.review.display';
const DEFAULTS: DisplaySettings = { contrast: false, zoom: false };

function readStored(): DisplaySettings {
  try {
    const parsed = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<DisplaySettings>;
    return { contrast: parsed.contrast === true, zoom: parsed.zoom === true };
  } catch {
    return DEFAULTS;
  }
}

export function useDisplaySettings(): {
  display: DisplaySettings;
  toggle: (setting: keyof DisplaySettings) => void;
} {
  // The server renders the defaults; the stored choice applies once the page is in the browser.
  const [display, setDisplay] = useState<DisplaySettings>(DEFAULTS);
  useEffect(() => setDisplay(readStored()), []);
  const toggle = useCallback((setting: keyof DisplaySettings) => {
    setDisplay((previous) => {
      const next = { ...previous, [setting]: !previous[setting] };
      try {
        window.localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
      } catch {
        // Private windows may refuse storage: the toggle still works for this page.
      }
      return next;
    });
  }, []);
  return { display, toggle };
}
