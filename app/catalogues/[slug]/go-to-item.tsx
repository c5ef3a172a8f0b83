'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';

/**
 * "Go to item": opens an item's page by id, after asking the item route whether this reader
 * can see such an item in this catalogue, so that a wrong id gets a sentence here instead of
 * a page change.
 */
export function GoToItem({ slug, catalogueName }: { slug: string; catalogueName: string }) {
  const router = useRouter();
  const [value, setValue] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function open() {
    const text = value.trim().replace(/^#/, '');
    if (!/^[1-9]\d{0,15}$/.test(text)) {
      setMessage('An item id is a whole number from 1 up, like 1234.');
      return;
    }
    setPending(true);
    setMessage(null);
    try {
      const response = await fetch(`/api/v1/items/${text}`);
      const body = (await response.json()) as { catalogue?: { slug: string }; error?: { message: string } };
      if (response.ok && body.catalogue?.slug === slug) {
        router.push(`/catalogues/${encodeURIComponent(slug)}/items/${text}`);
        return;
      }
      setMessage(
        response.ok || response.status === 404
          ? `There is no item ${text} in ${catalogueName}.`
          : (body.error?.message ?? `The item could not be looked up (HTTP ${response.status}).`),
      );
    } catch {
      setMessage('The item could not be looked up: the server did not answer.');
    } finally {
      setPending(false);
    }
  }

  return (
    <form
      className="flex flex-wrap items-center gap-2 text-sm"
      aria-label="Go to an item"
      onSubmit={(event) => {
        event.preventDefault();
        void open();
      }}
    >
      <label className="flex items-center gap-2">
        Go to item
        <input
          className="w-28 rounded border border-gray-300 bg-white px-2 py-1"
          inputMode="numeric"
          placeholder="id, e.g. 1234"
          value={value}
          onChange={(event) => setValue(event.target.value)}
          aria-describedby={message ? 'go-to-item-message' : undefined}
          data-testid="go-to-item-input"
        />
      </label>
      <button
        type="submit"
        disabled={pending}
        className="rounded border border-gray-300 bg-white px-2 py-1 hover:bg-gray-100 disabled:opacity-50"
        data-testid="go-to-item-submit"
      >
        Open
      </button>
      {message && (
        <p id="go-to-item-message" role="alert" className="basis-full text-red-700" data-testid="go-to-item-message">
          {message}
        </p>
      )}
    </form>
  );
}
