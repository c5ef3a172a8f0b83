'use client';

import { useState } from 'react';
import { callApi } from './review-api';

type Message = { tone: 'success' | 'error'; text: string };

/** One box per class; Save sends the whole map, the server checks it and answers with a sentence. */
export function ClassKeysForm({
  catalogueSlug,
  classNames,
  initialKeys,
  defaultKeys,
  custom: initialCustom,
}: {
  catalogueSlug: string;
  classNames: string[];
  initialKeys: (string | null)[];
  defaultKeys: (string | null)[];
  custom: boolean;
}) {
  const [keys, setKeys] = useState(initialKeys.map((key) => key ?? ''));
  const [custom, setCustom] = useState(initialCustom);
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState<Message | null>(null);

  const save = async (body: { keys: (string | null)[] | null }) => {
    setSaving(true);
    const result = await callApi<{ keys: (string | null)[]; custom: boolean }>(
      `/api/v1/catalogues/${encodeURIComponent(catalogueSlug)}/class-keys`,
      { method: 'PUT', body },
    );
    setSaving(false);
    if (!result.ok) {
      setMessage({ tone: 'error', text: `Not saved: ${result.message}` });
      return;
    }
    setKeys(result.data.keys.map((key) => key ?? ''));
    setCustom(result.data.custom);
    setMessage({
      tone: 'success',
      text: result.data.custom ? 'Saved: the review pages use these keys.' : 'Saved: the default keys are back.',
    });
  };

  return (
    <form
      className="mt-4 flex flex-col gap-3"
      onSubmit={(event) => {
        event.preventDefault();
        void save({ keys: keys.map((key) => (key === '' ? null : key)) });
      }}
    >
      <p className="text-sm text-gray-600" data-testid="class-keys-state">
        {custom ? 'This catalogue has its own keys.' : 'This catalogue uses the default keys.'}
      </p>
      <ul className="grid gap-2 sm:grid-cols-2">
        {classNames.map((name, index) => (
          <li key={name}>
            <label className="flex items-center justify-between gap-3 rounded border border-gray-200 bg-white px-3 py-1.5">
              <span className="text-sm">{name}</span>
              <input
                type="text"
                maxLength={1}
                autoComplete="off"
                data-testid={`class-key-${index}`}
                aria-label={`Key for ${name}`}
                placeholder={defaultKeys[index] ?? ''}
                value={keys[index] ?? ''}
                onChange={(event) =>
                  setKeys((previous) => previous.map((key, i) => (i === index ? event.target.value : key)))
                }
                className="w-12 rounded border border-gray-300 px-2 py-0.5 text-center font-mono"
              />
            </label>
          </li>
        ))}
      </ul>
      <p
        role="status"
        aria-live="polite"
        data-testid="class-keys-message"
        data-tone={message?.tone ?? ''}
        className={`min-h-6 text-sm ${message?.tone === 'error' ? 'font-medium text-red-700' : 'text-green-800'}`}
      >
        {message?.text ?? ''}
      </p>
      <div className="flex flex-wrap gap-2">
        <button
          type="submit"
          disabled={saving}
          data-testid="class-keys-save"
          className="rounded bg-gray-900 px-3 py-1.5 text-sm text-white disabled:opacity-50"
        >
          Save keys
        </button>
        <button
          type="button"
          disabled={saving}
          data-testid="class-keys-reset"
          onClick={() => void save({ keys: null })}
          className="rounded border border-gray-300 bg-white px-3 py-1.5 text-sm hover:bg-gray-100 disabled:opacity-50"
        >
          Use the default keys
        </button>
      </div>
    </form>
  );
}
