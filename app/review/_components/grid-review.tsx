'use client';

import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { GridCells, type GridOutcome } from './grid-cells';
import { GridClassPicker, type ClassQueueCount } from './grid-class-picker';
import { GridCorrections } from './grid-corrections';
import { Kbd } from './kbd';
import { callApi, keyLabel, MAX_DURATION_MS, newClientId, releaseOnExit, type ClaimedItem } from './review-api';
import { ReviewHeader, type CatalogueChoice } from './review-header';
import { ReviewStats, useReviewerStats } from './review-stats';
import { useDisplaySettings } from './use-display-settings';
import { useHeldLeases } from './use-held-leases';

type Phase = 'pick' | 'loading' | 'grid' | 'submitting' | 'done' | 'undoing';
type Message = { tone: 'info' | 'success' | 'error'; text: string };

export const GRID_BATCH_SIZE = 25;

/**
 * The grid view: a batch of items the model put in one class; the reviewer marks the wrong
 * ones and picks their class, and one submit confirms the rest and corrects the marked ones.
 * Items whose hold lapsed come back per item as not recorded; the others are recorded.
 */
export function GridReview({
  catalogue,
  choices,
  counts,
}: {
  catalogue: { slug: string; name: string; classNames: string[]; classKeys: (string | null)[] };
  choices: CatalogueChoice[];
  counts: ClassQueueCount[];
}) {
  const { classNames, classKeys } = catalogue;
  const { display, toggle: toggleDisplay } = useDisplaySettings();
  const router = useRouter();
  const { stats, refresh: refreshStats } = useReviewerStats();
  const [phase, setPhase] = useState<Phase>('pick');
  const [predictedClass, setPredictedClass] = useState<number | null>(null);
  const [items, setItems] = useState<ClaimedItem[]>([]);
  const [marks, setMarks] = useState<Map<number, number | null>>(new Map());
  const [outcomes, setOutcomes] = useState<Map<number, GridOutcome>>(new Map());
  const [focusIndex, setFocusIndex] = useState(0);
  const [message, setMessage] = useState<Message | null>(null);
  const shownAt = useRef(0);
  // Held while the grid is open and not yet recorded; read by the heartbeat and on exit.
  const held = useRef<number[]>([]);
  const alive = useRef(true);
  // A retried submit reuses the client id of each unchanged decision.
  const clientIds = useRef(new Map<string, string>());
  // The last submit's recorded decisions (client id and what was marked), for its undo.
  const lastSubmit = useRef<{ itemId: number; label: number | null; clientId: string }[]>([]);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  const loadBatch = useCallback(
    async (classIndex: number) => {
      setPhase('loading');
      setMessage(null);
      const result = await callApi<{ items: ClaimedItem[] }>('/api/v1/queue/claim-batch', {
        body: { catalogue: catalogue.slug, predictedClass: classIndex, size: GRID_BATCH_SIZE },
      });
      if (!alive.current) {
        if (result.ok) releaseOnExit(result.data.items.map((item) => item.itemId));
        return;
      }
      setPredictedClass(classIndex);
      setMarks(new Map());
      setOutcomes(new Map());
      setFocusIndex(0);
      if (!result.ok) {
        setPhase('pick');
        setMessage({ tone: 'error', text: `The batch could not be loaded: ${result.message}` });
        return;
      }
      const batch = result.data.items;
      held.current = batch.map((item) => item.itemId);
      setItems(batch);
      if (batch.length === 0) {
        setPhase('pick');
        setMessage({ tone: 'info', text: `No items predicted as ${classNames[classIndex]} are waiting for you.` });
        router.refresh();
        return;
      }
      shownAt.current = performance.now();
      setPhase('grid');
    },
    [catalogue.slug, classNames, router],
  );

  const backToPicker = useCallback(() => {
    releaseOnExit(held.current);
    held.current = [];
    setItems([]);
    setPhase('pick');
    setMessage(null);
    router.refresh();
  }, [router]);

  useHeldLeases({
    heldIds: () => held.current,
    onLost: (lost) => {
      held.current = held.current.filter((id) => !lost.includes(id));
      setOutcomes(
        (previous) =>
          new Map([
            ...previous,
            ...lost.map((itemId): [number, GridOutcome] => [
              itemId,
              { itemId, status: 'lost', message: 'Your hold on this item expired; it went back to the queue.' },
            ]),
          ]),
      );
      setMarks((previous) => new Map([...previous].filter(([id]) => !lost.includes(id))));
      setMessage({
        tone: 'error',
        text: `Your hold on ${lost.length} item${lost.length === 1 ? '' : 's'} expired; ${lost.length === 1 ? 'it is' : 'they are'} left out of this submit.`,
      });
    },
    onResume: () => {
      if (predictedClass !== null && (phase === 'grid' || phase === 'loading')) void loadBatch(predictedClass);
    },
  });

  const toggle = (itemId: number) =>
    setMarks((previous) => {
      const next = new Map(previous);
      if (next.has(itemId)) next.delete(itemId);
      else next.set(itemId, null);
      return next;
    });
  const choose = (itemId: number, label: number) =>
    setMarks((previous) => {
      const next = new Map(previous);
      // The model's own class on a cell means "it was right after all".
      if (label === predictedClass) next.delete(itemId);
      else next.set(itemId, label);
      return next;
    });
  const unmark = (itemId: number) =>
    setMarks((previous) => {
      const next = new Map(previous);
      next.delete(itemId);
      return next;
    });

  const submit = async () => {
    const live = items.filter((item) => outcomes.get(item.itemId)?.status !== 'lost');
    if (live.length === 0 || [...marks.values()].some((label) => label === null)) return;
    const durationMs = Math.min(MAX_DURATION_MS, Math.round((performance.now() - shownAt.current) / live.length));
    const decisions = live.map((item) => {
      const label = marks.get(item.itemId) ?? null;
      const key = `${item.itemId}:${label}`;
      const clientId = clientIds.current.get(key) ?? newClientId();
      clientIds.current.set(key, clientId);
      return { itemId: item.itemId, label, clientId, durationMs, modelVersionId: item.modelVersionId };
    });
    setPhase('submitting');
    setMessage({ tone: 'info', text: `Submitting ${decisions.length} decisions…` });
    const result = await callApi<{ results: GridOutcome[] }>('/api/v1/reviews/grid', {
      body: { catalogue: catalogue.slug, decisions },
    });
    if (!result.ok) {
      setPhase('grid');
      setMessage({ tone: 'error', text: `Nothing was recorded: ${result.message}` });
      return;
    }
    const all = new Map(outcomes);
    for (const outcome of result.data.results) all.set(outcome.itemId, outcome);
    const recordedIds = new Set(
      result.data.results.filter((o) => o.status === 'recorded').map((outcome) => outcome.itemId),
    );
    lastSubmit.current = decisions.filter((d) => recordedIds.has(d.itemId));
    held.current = [];
    setOutcomes(all);
    setPhase('done');
    const recorded = [...all.values()].filter((o) => o.status === 'recorded');
    const corrected = recorded.filter((o) => o.status === 'recorded' && o.action === 'correct').length;
    const lost = items.length - recorded.length;
    setMessage({
      tone: lost > 0 ? 'error' : 'success',
      text: `Recorded ${recorded.length} of ${items.length}: ${recorded.length - corrected} confirmed as ${classNames[predictedClass ?? 0]}, ${corrected} corrected.${lost > 0 ? ` ${lost} not recorded: your hold on ${lost === 1 ? 'it' : 'them'} expired and ${lost === 1 ? 'it went' : 'they went'} back to the queue.` : ''}`,
    });
    refreshStats();
    router.refresh();
  };

  /**
   * Undoes the last submit as a whole (lib/review/grid-undo.ts): its items come back held by
   * this reviewer, with the marks they had, to decide again. New client ids from here on: the
   * old ones are recorded, and a resubmit with them would only replay the undone decisions.
   */
  const undoSubmit = async () => {
    const submitted = lastSubmit.current;
    if (submitted.length === 0) return;
    setPhase('undoing');
    setMessage({ tone: 'info', text: `Undoing ${submitted.length} decisions…` });
    const result = await callApi<{ undone: { itemId: number }[] }>('/api/v1/reviews/grid/undo', {
      body: { clientIds: submitted.map((d) => d.clientId) },
    });
    if (!alive.current) return;
    if (!result.ok) {
      setPhase('done');
      setMessage({ tone: 'error', text: `Nothing was undone: ${result.message}` });
      return;
    }
    const undoneIds = new Set(result.data.undone.map((u) => u.itemId));
    lastSubmit.current = [];
    clientIds.current.clear();
    held.current = items.map((item) => item.itemId).filter((id) => undoneIds.has(id));
    setItems((previous) => previous.filter((item) => undoneIds.has(item.itemId)));
    setOutcomes(new Map());
    setMarks(new Map(submitted.filter((d) => d.label !== null).map((d) => [d.itemId, d.label])));
    setFocusIndex(0);
    shownAt.current = performance.now();
    setPhase('grid');
    setMessage({
      tone: 'info',
      text: `Undid ${undoneIds.size} decisions: the items are back in the queue and yours to decide again.`,
    });
    refreshStats();
    router.refresh();
  };

  const unlabelled = [...marks.values()].filter((label) => label === null).length;
  const live = items.filter((item) => outcomes.get(item.itemId)?.status !== 'lost').length;
  const className = predictedClass === null ? '' : classNames[predictedClass];

  return (
    <div className="flex min-w-0 flex-col gap-4" data-testid="grid-view">
      <ReviewHeader
        title="Review: grid"
        catalogue={catalogue}
        choices={choices}
        basePath="/review/grid"
        other={{ href: '/review', label: 'Focus view: one item at a time' }}
      >
        <ReviewStats stats={stats} />
      </ReviewHeader>

      <p
        role="status"
        aria-live="polite"
        data-testid="grid-message"
        data-tone={message?.tone ?? ''}
        className={`min-h-6 text-sm ${message?.tone === 'error' ? 'font-medium text-red-700' : message?.tone === 'success' ? 'text-green-800' : 'text-gray-700'}`}
      >
        {message?.text ?? ''}
      </p>

      {(phase === 'pick' || phase === 'loading') && (
        <GridClassPicker counts={counts} disabled={phase === 'loading'} onPick={(index) => void loadBatch(index)} />
      )}

      {(phase === 'grid' || phase === 'submitting' || phase === 'done' || phase === 'undoing') &&
        predictedClass !== null && (
          <>
            <div className="flex flex-wrap items-baseline gap-3">
              <h2 className="text-lg font-semibold">
                Predicted <span data-testid="grid-class-name">{className}</span>: {items.length} items
              </h2>
              <p className="text-sm text-gray-600">
                Click a wrong one, or move with the arrow keys and press Space; a class key marks it and picks that
                class.
              </p>
              <button
                type="button"
                data-testid="toggle-contrast"
                aria-pressed={display.contrast}
                onClick={() => toggleDisplay('contrast')}
                className={`rounded border px-2 py-0.5 text-sm ${display.contrast ? 'border-blue-500 bg-blue-50' : 'border-gray-300 bg-white hover:bg-gray-100'}`}
              >
                Contrast
              </button>
            </div>
            <p className="flex flex-wrap gap-x-3 gap-y-1 text-xs text-gray-600" data-testid="grid-key-legend">
              {classNames.map((name, index) =>
                classKeys[index] && index !== predictedClass ? (
                  <span key={name} className="flex items-center gap-1">
                    <Kbd>{keyLabel(classKeys[index])}</Kbd> {name}
                  </span>
                ) : null,
              )}
            </p>
            <div className="flex flex-col items-start gap-6 md:flex-row">
              <GridCells
                items={items}
                marks={marks}
                outcomes={outcomes}
                classNames={classNames}
                classKeys={classKeys}
                contrast={display.contrast}
                locked={phase !== 'grid'}
                focusIndex={focusIndex}
                onFocusIndex={setFocusIndex}
                onToggle={toggle}
                onChoose={choose}
              />
              <div className="flex w-full flex-col gap-4 md:w-auto">
                <GridCorrections
                  marks={marks}
                  predictedClass={predictedClass}
                  classNames={classNames}
                  locked={phase !== 'grid'}
                  onChoose={choose}
                  onUnmark={unmark}
                />
                {phase === 'done' || phase === 'undoing' ? (
                  <div className="flex flex-col gap-2">
                    {lastSubmit.current.length > 0 && (
                      <button
                        type="button"
                        data-testid="grid-undo"
                        disabled={phase === 'undoing'}
                        onClick={() => void undoSubmit()}
                        className="rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50"
                      >
                        Undo this submit ({lastSubmit.current.length})
                      </button>
                    )}
                    <button
                      type="button"
                      data-testid="grid-next"
                      onClick={() => void loadBatch(predictedClass)}
                      className="rounded bg-gray-900 px-3 py-1.5 text-sm text-white"
                    >
                      Next batch of {className}
                    </button>
                    <button
                      type="button"
                      data-testid="grid-back"
                      onClick={backToPicker}
                      className="rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100"
                    >
                      Choose another class
                    </button>
                  </div>
                ) : (
                  <div className="flex flex-col gap-2">
                    <button
                      type="button"
                      data-testid="grid-submit"
                      disabled={phase !== 'grid' || unlabelled > 0 || live === 0}
                      onClick={() => void submit()}
                      className="rounded bg-gray-900 px-3 py-1.5 text-sm text-white disabled:opacity-50"
                    >
                      {phase === 'submitting'
                        ? 'Submitting…'
                        : `Submit: confirm ${live - marks.size}, correct ${marks.size}`}
                    </button>
                    {unlabelled > 0 && (
                      <p className="text-xs text-red-700">
                        Choose the class of each item marked wrong ({unlabelled} left).
                      </p>
                    )}
                    <button
                      type="button"
                      data-testid="grid-back"
                      disabled={phase !== 'grid'}
                      onClick={backToPicker}
                      className="rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50"
                    >
                      Give these back and choose another class
                    </button>
                  </div>
                )}
              </div>
            </div>
          </>
        )}
    </div>
  );
}
