'use client';

import { useFormAction } from '@/app/_components/use-form-action';
import { startLabRunAction } from './actions';

const ARCHS: { value: string; label: string; checked: boolean }[] = [
  { value: 'logreg', label: 'logistic regression', checked: true },
  { value: 'forest', label: 'random forest', checked: true },
  { value: 'mlp', label: 'mlp', checked: true },
  { value: 'lenet5', label: 'lenet5', checked: false },
  { value: 'cnn', label: 'cnn (shipped)', checked: false },
  { value: 'resnet20', label: 'resnet20', checked: false },
];

const input = 'w-24 rounded border border-gray-300 px-2 py-0.5 tabular-nums';

/** An admin's new run: architectures and how long to train; empty numbers take the defaults. */
export function StartRunForm({ catalogue }: { catalogue: string }) {
  const { state, pending, formRef, onSubmit } = useFormAction(startLabRunAction, { resetAfter: 'never' });
  return (
    <form
      ref={formRef}
      onSubmit={onSubmit}
      className="mt-3 rounded border border-gray-200 bg-white p-3 text-sm"
      aria-label="New lab run"
    >
      <input type="hidden" name="catalogue" value={catalogue} />
      <fieldset className="flex flex-wrap gap-3">
        <legend className="font-medium">Architectures</legend>
        {ARCHS.map((arch) => (
          <label key={arch.value} className="flex items-center gap-1">
            <input type="checkbox" name="archs" value={arch.value} defaultChecked={arch.checked} />
            {arch.label}
          </label>
        ))}
      </fieldset>
      <div className="mt-2 flex flex-wrap items-end gap-3">
        <label className="flex flex-col">
          epochs
          <input className={input} name="epochs" type="number" min={1} max={50} placeholder="5" />
        </label>
        <label className="flex flex-col">
          training images
          <input className={input} name="trainSize" type="number" min={200} max={60000} placeholder="5000" />
        </label>
        <label className="flex flex-col">
          holdout items
          <input className={input} name="testSize" type="number" min={50} max={10000} placeholder="2000" />
        </label>
        <label className="flex flex-col">
          trees
          <input className={input} name="trees" type="number" min={1} max={300} placeholder="50" />
        </label>
        <label className="flex flex-col">
          learning rate
          <select name="schedule" defaultValue="plateau" className="rounded border border-gray-300 px-1 py-0.5">
            <option value="plateau">halved on a plateau</option>
            <option value="cosine">cosine</option>
          </select>
        </label>
        <label className="flex items-center gap-1">
          <input type="checkbox" name="augment" /> augmentation
        </label>
        <button
          type="submit"
          disabled={pending}
          className="rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50"
        >
          {pending ? 'Starting…' : 'Run'}
        </button>
      </div>
      {state && !state.ok && (
        <p role="alert" className="mt-2 text-red-700">
          {state.message}
        </p>
      )}
      {state?.ok && (
        <p className="mt-2 text-green-800" data-testid="lab-started">
          Run {state.data.runId} queued (job {state.data.jobId}).{' '}
          <a
            className="underline"
            href={`/lab?catalogue=${encodeURIComponent(state.data.catalogue)}&run=${state.data.runId}`}
          >
            Follow it
          </a>
        </p>
      )}
    </form>
  );
}
