'use client';

import { useRouter } from 'next/navigation';
import { useRef, useState, type FormEvent } from 'react';
import { MAX_UPLOAD_BYTES, tooLargeMessage } from '@/lib/import/upload-limits';
import { upload, type ImportResponse } from './import-api';
import { CatalogueFieldset, FilesFieldset, type CatalogueOption, type Kind, type Target } from './import-fieldsets';
import { ImportPhaseView, type Phase } from './import-phase';

/**
 * The Import page's form: a catalogue (existing or new), the files, then the upload with its
 * progress, and the import's result with the scoring that follows it.
 */
export function ImportForm({ catalogues }: { catalogues: CatalogueOption[] }) {
  const router = useRouter();
  const formRef = useRef<HTMLFormElement>(null);
  const [target, setTarget] = useState<Target>(catalogues.length > 0 ? 'existing' : 'new');
  const [existing, setExisting] = useState(catalogues[0]?.slug ?? '');
  const [classesText, setClassesText] = useState('');
  const [kind, setKind] = useState<Kind>('csv');
  const [phase, setPhase] = useState<Phase>({ name: 'idle' });
  const busy = phase.name === 'uploading' || phase.name === 'importing';

  const classNames =
    target === 'existing'
      ? (catalogues.find((c) => c.slug === existing)?.classNames ?? [])
      : classesText
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const size = [...form.values()].reduce((sum, value) => sum + (typeof value === 'string' ? 0 : value.size), 0);
    if (size > MAX_UPLOAD_BYTES) {
      setPhase({ name: 'error', message: tooLargeMessage(size) });
      return;
    }
    setPhase({ name: 'uploading', fraction: 0 });
    const catalogue = String(form.get('catalogue') ?? '');
    try {
      const { status, body } = await upload(form, (fraction) =>
        setPhase(fraction < 1 ? { name: 'uploading', fraction } : { name: 'importing', catalogue }),
      );
      if (status >= 200 && status < 300) {
        setPhase({ name: 'done', result: body as ImportResponse });
        formRef.current?.reset();
        setClassesText('');
        if (target === 'new') {
          setTarget('existing');
          setExisting((body as ImportResponse).catalogue.slug);
        }
        // The recent imports and the catalogue list are server-rendered.
        router.refresh();
      } else {
        const message = (body as { error?: { message?: string } } | null)?.error?.message;
        setPhase({ name: 'error', message: message ?? `The server refused the upload (HTTP ${status}).` });
      }
    } catch (error) {
      setPhase({ name: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }

  return (
    <div className="mt-4 rounded border border-gray-200 bg-white p-4">
      <form ref={formRef} onSubmit={onSubmit} className="flex flex-col gap-4" aria-label="Import">
        <CatalogueFieldset
          catalogues={catalogues}
          target={target}
          onTarget={setTarget}
          existing={existing}
          onExisting={setExisting}
          classesText={classesText}
          onClassesText={setClassesText}
        />

        <FilesFieldset kind={kind} onKind={setKind} classNames={classNames} />

        <div>
          <button
            type="submit"
            disabled={busy}
            className="rounded bg-gray-900 px-3 py-1.5 text-white disabled:opacity-50"
          >
            {busy ? 'Importing…' : 'Upload and import'}
          </button>
        </div>
      </form>

      <ImportPhaseView phase={phase} />
    </div>
  );
}
