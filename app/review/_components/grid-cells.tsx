'use client';

import { useRef, type KeyboardEvent } from 'react';
import { ItemImage } from './item-image';
import { classForKey, type ClaimedItem } from './review-api';

export type GridOutcome =
  | {
      itemId: number;
      status: 'recorded';
      action: 'confirm' | 'correct' | 'skip' | 'unsure' | 'undo';
      chosenLabel: number | null;
      replayed: boolean;
    }
  | { itemId: number; status: 'lost'; message: string };

export const GRID_COLUMNS = 5;
const THUMB_PX = 112; // 28 x 4 at most; narrower on a phone (five columns share the width)

/**
 * The batch as a 5-wide grid of toggles: click, or move with the arrow keys and press Space,
 * to mark an item wrong; a class key on a cell marks it and picks that class.
 */
export function GridCells({
  items,
  marks,
  outcomes,
  classNames,
  classKeys,
  contrast,
  locked,
  focusIndex,
  onFocusIndex,
  onToggle,
  onChoose,
}: {
  items: ClaimedItem[];
  marks: Map<number, number | null>;
  outcomes: Map<number, GridOutcome>;
  classNames: string[];
  classKeys: (string | null)[];
  contrast: boolean;
  locked: boolean;
  focusIndex: number;
  onFocusIndex: (index: number) => void;
  onToggle: (itemId: number) => void;
  onChoose: (itemId: number, label: number) => void;
}) {
  const cells = useRef<(HTMLButtonElement | null)[]>([]);

  const move = (index: number) => {
    const next = Math.max(0, Math.min(items.length - 1, index));
    onFocusIndex(next);
    cells.current[next]?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLButtonElement>, index: number, item: ClaimedItem) => {
    const step = {
      ArrowLeft: -1,
      ArrowRight: 1,
      ArrowUp: -GRID_COLUMNS,
      ArrowDown: GRID_COLUMNS,
      Home: -index,
      End: items.length - 1 - index,
    }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      move(index + step);
      return;
    }
    if (locked || event.ctrlKey || event.metaKey || event.altKey) return;
    const label = classForKey(classKeys, event.key);
    if (label !== null) {
      event.preventDefault();
      onChoose(item.itemId, label);
    }
  };

  return (
    <div
      role="group"
      aria-label="Items in this batch: mark the wrong ones"
      className="grid w-full gap-1 sm:gap-2"
      style={{
        gridTemplateColumns: `repeat(${GRID_COLUMNS}, minmax(0, 1fr))`,
        maxWidth: GRID_COLUMNS * (THUMB_PX + 16),
      }}
      data-testid="grid-cells"
    >
      {items.map((item, index) => {
        const marked = marks.has(item.itemId);
        const chosen = marks.get(item.itemId) ?? null;
        const outcome = outcomes.get(item.itemId);
        const lost = outcome?.status === 'lost';
        const confidence = item.top[0]?.prob;
        return (
          <button
            key={item.itemId}
            ref={(el) => {
              cells.current[index] = el;
            }}
            type="button"
            data-testid="grid-cell"
            data-item-id={item.itemId}
            data-marked={marked}
            data-result={outcome ? (outcome.status === 'lost' ? 'lost' : outcome.action) : ''}
            aria-pressed={marked}
            aria-label={`Item ${item.itemId}${marked ? `, marked wrong${chosen !== null ? `: ${classNames[chosen]}` : ''}` : ''}`}
            tabIndex={index === focusIndex ? 0 : -1}
            disabled={locked && !outcome}
            onFocus={() => onFocusIndex(index)}
            onClick={() => !locked && !lost && onToggle(item.itemId)}
            onKeyDown={(event) => onKeyDown(event, index, item)}
            className={`relative flex flex-col items-center rounded border-2 bg-white p-1 focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 ${
              lost
                ? 'border-red-600 opacity-60'
                : outcome?.status === 'recorded'
                  ? outcome.action === 'correct'
                    ? 'border-blue-700'
                    : 'border-green-600'
                  : marked
                    ? 'border-red-500 bg-red-50'
                    : 'border-transparent hover:border-gray-300'
            }`}
          >
            {/* A plain <img>: next/image would resample the 28x28 PNG; `pixelated` keeps hard edges. */}
            <ItemImage
              itemId={item.itemId}
              contrast={contrast}
              alt=""
              className="aspect-square w-full max-w-[112px] bg-black"
            />
            <span className="mt-0.5 flex w-full flex-wrap justify-between text-[11px] text-gray-600 tabular-nums">
              <span>#{item.itemId}</span>
              {confidence !== undefined && <span>{(confidence * 100).toFixed(0)}%</span>}
            </span>
            <CellBadge marked={marked} chosen={chosen} outcome={outcome} classNames={classNames} />
          </button>
        );
      })}
    </div>
  );
}

function CellBadge({
  marked,
  chosen,
  outcome,
  classNames,
}: {
  marked: boolean;
  chosen: number | null;
  outcome: GridOutcome | undefined;
  classNames: string[];
}) {
  const base = 'absolute left-1 top-1 max-w-[calc(100%-0.5rem)] truncate rounded px-1 text-[11px] font-medium';
  if (outcome?.status === 'lost') return <span className={`${base} bg-red-600 text-white`}>not recorded</span>;
  if (outcome?.status === 'recorded') {
    return outcome.action === 'correct' ? (
      <span className={`${base} bg-blue-700 text-white`}>→ {classNames[outcome.chosenLabel ?? -1] ?? '?'}</span>
    ) : (
      <span className={`${base} bg-green-700 text-white`}>✓ confirmed</span>
    );
  }
  if (marked)
    return <span className={`${base} bg-red-600 text-white`}>✗ {chosen === null ? 'wrong' : classNames[chosen]}</span>;
  return null;
}
