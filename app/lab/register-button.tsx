'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import { registerLabModelAction } from './actions';

/** Sends a lab model to the evaluation gate as a candidate of the catalogue. */
export function RegisterButton({ labResultId, arch }: { labResultId: number; arch: string }) {
  const { state, pending, onSubmit } = useFormAction(registerLabModelAction, { resetAfter: 'never' });
  return (
    <form onSubmit={onSubmit} aria-label={`Register ${arch} as a candidate`}>
      <input type="hidden" name="labResultId" value={labResultId} />
      <button
        type="submit"
        disabled={pending || state?.ok}
        className="rounded border border-gray-300 px-2 py-0.5 text-xs hover:bg-gray-100 disabled:opacity-50"
      >
        {pending ? 'Sending…' : state?.ok ? `Gate job ${state.data.jobId} queued` : 'Register as candidate'}
      </button>
      {state && !state.ok && (
        <p role="alert" className="text-xs text-red-700">
          {state.message}
        </p>
      )}
    </form>
  );
}
