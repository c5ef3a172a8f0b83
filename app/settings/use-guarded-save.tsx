'use client';

import { useState, type FormEvent, type ReactNode } from 'react';
import { useConfirm } from '@/app/_components/confirm-dialog';
import { useFormAction } from '@/app/_components/use-form-action';
import type { ActionResult } from '@/lib/http/server-action';
import type { RoutingPreview } from '@/lib/routing/preview';

type Action<T> = (previous: ActionResult<T> | null, form: FormData) => Promise<ActionResult<T>>;

const count = (n: number) => n.toLocaleString('en');

/** The question before a large save: how many items go which way. */
export function describeMoves(preview: RoutingPreview, what: string): ReactNode {
  return (
    <>
      <span className="block">
        {what} moves <strong data-testid="confirm-moved">{count(preview.moved)} items</strong>:{' '}
        <span data-testid="confirm-entered">{count(preview.entered)}</span> from auto-accepted into the review queue and{' '}
        <span data-testid="confirm-left">{count(preview.left)}</span> out of the queue to auto-accepted.
      </span>
      {preview.held > 0 && (
        <span className="mt-1 block">{count(preview.held)} items reviewers hold right now stay where they are.</span>
      )}
      <span className="mt-1 block">It happens at once; saving the old value again moves them back.</span>
    </>
  );
}

/**
 * A settings save that first asks the server what it would move (the preview action, the same
 * resolution and stale check as the save) and, when that is many items, says so in the app's
 * dialog and saves only on a yes. A preview the server refuses (stale page, bad value) goes on
 * to the save, whose answer the form already shows.
 */
export function useGuardedSave<T, P extends RoutingPreview>(
  save: Action<T>,
  preview: Action<P>,
  question: (preview: P) => { title: string; body: ReactNode },
) {
  const form = useFormAction(save, { resetAfter: 'never' });
  const [confirm, dialog] = useConfirm();
  const [checking, setChecking] = useState(false);
  const [declined, setDeclined] = useState(false);

  async function saveGuarded(data: FormData) {
    setDeclined(false);
    setChecking(true);
    let answer: ActionResult<P> | null = null;
    try {
      answer = await preview(null, data);
    } catch {
      // The save itself will say what is wrong (or succeed); the preview is only a courtesy.
    } finally {
      setChecking(false);
    }
    if (answer?.ok && answer.data.large) {
      const { title, body } = question(answer.data);
      const yes = await confirm({
        title,
        body,
        confirmLabel: `Save and move ${count(answer.data.moved)} items`,
        tone: 'danger',
      });
      if (!yes) {
        setDeclined(true);
        return;
      }
    }
    form.submit(data);
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void saveGuarded(new FormData(event.currentTarget));
  }

  return {
    state: form.state,
    pending: form.pending || checking,
    formRef: form.formRef,
    onSubmit,
    /** Saves these values (the projection's button builds its own form data). */
    saveGuarded,
    /** True after the admin answered no: nothing was saved. */
    declined,
    dialog,
  };
}
