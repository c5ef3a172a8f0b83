'use client';

import { startTransition, useActionState, useEffect, useRef, type FormEvent } from 'react';
import type { ActionResult } from '@/lib/http/server-action';

/**
 * A form bound to a server action that keeps what was typed when the server refuses it (React
 * resets a `<form action>` after every submit) and clears it only when `resetAfter` says so.
 */
export function useFormAction<T>(
  action: (previous: ActionResult<T> | null, form: FormData) => Promise<ActionResult<T>>,
  /** When to clear the form: after a success (a create form), after a failure (a select showing stored state), or never. */
  options: { resetAfter?: 'success' | 'failure' | 'never' } = {},
) {
  const resetAfter = options.resetAfter ?? 'success';
  const [state, dispatch, pending] = useActionState(action, null);
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (state && resetAfter === (state.ok ? 'success' : 'failure')) formRef.current?.reset();
  }, [state, resetAfter]);
  /** Sends the form's data now (after a confirmation, say). */
  function submit(form: FormData) {
    startTransition(() => dispatch(form));
  }
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    submit(new FormData(event.currentTarget));
  }
  return { state, pending, formRef, onSubmit, submit };
}
