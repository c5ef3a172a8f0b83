'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { describeDuplicates, type DuplicateReport } from '@/lib/import/duplicates';
import { MAX_UPLOAD_BYTES, describeBytes, tooLargeMessage } from '@/lib/import/upload-limits';

type Kind = 'idx' | 'csv' | 'images';

interface CatalogueOption {
  slug: string;
  name: string;
  classNames: string[];
}

/** What POST /api/v1/imports answers (lib/import/upload.ts UploadImportResult). */
interface ImportResponse extends DuplicateReport {
  importId: number;
  catalogue: { slug: string; name: string };
  created: boolean;
  total: number;
  inserted: number;
  alreadyPresent: number;
}

/** What GET /api/v1/imports/:id answers (lib/import/status.ts ImportStatus). */
interface ImportStatusResponse {
  items: { unscored: number; auto_accepted: number; needs_review: number; reviewed: number };
  catalogueUnscored: number;
  activeModel: string | null;
}

type Phase =
  | { name: 'idle' }
  | { name: 'uploading'; fraction: number }
  | { name: 'importing' }
  | { name: 'done'; result: ImportResponse }
  | { name: 'error'; message: string };

const POLL_MS = 2000;
const field = 'mt-1 rounded border border-gray-300 px-2 py-1';

function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Sends the form with XMLHttpRequest: fetch cannot report upload progress. */
function upload(form: FormData, onProgress: (fraction: number) => void): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/imports');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.response as unknown });
    xhr.onerror = () =>
      reject(
        new Error(
          'The upload was cut off before the server answered; check the connection and the file size, then try again.',
        ),
      );
    xhr.send(form);
  });
}

function ScoringProgress({ result }: { result: ImportResponse }) {
  const [status, setStatus] = useState<ImportStatusResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const finished = status !== null && (status.items.unscored === 0 || status.activeModel === null);

  useEffect(() => {
    if (finished) return;
    let cancelled = false;
    const poll = async () => {
      try {
        const response = await fetch(`/api/v1/imports/${result.importId}`, { cache: 'no-store' });
        const body = (await response.json()) as ImportStatusResponse & { error?: { message: string } };
        if (cancelled) return;
        if (!response.ok) setError(body.error?.message ?? `The server answered ${response.status}.`);
        else setStatus(body);
      } catch {
        if (!cancelled) setError('Could not reach the server to follow the scoring.');
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [result.importId, finished]);

  if (result.inserted === 0) return null;
  if (error) return <p className="text-sm text-red-700">{error}</p>;
  if (!status) return <p className="text-sm text-gray-600">Checking the scoring…</p>;
  if (status.activeModel === null) {
    return (
      <p data-testid="scoring-progress" className="text-sm text-gray-700">
        This catalogue has no model yet, so its items stay unscored (and out of the review queue) until one is
        registered for it: train one with <code>npm run train</code>, then run{' '}
        <code>{`npm run register-model -- --catalogue ${result.catalogue.slug} --model <model dir>`}</code>.
      </p>
    );
  }
  const { unscored, auto_accepted: accepted, needs_review: queued } = status.items;
  const total = result.inserted;
  const scored = total - unscored;
  return (
    <div data-testid="scoring-progress" className="flex flex-col gap-1 text-sm">
      <progress className="h-2 w-80" max={total} value={scored} />
      {unscored > 0 ? (
        <p>
          Scoring with {status.activeModel}: {scored.toLocaleString('en')} of {count(total, 'item', 'items')} scored…
        </p>
      ) : (
        <p data-testid="scoring-done">
          Scored all {count(total, 'item', 'items')} with {status.activeModel}: {accepted.toLocaleString('en')}{' '}
          auto-accepted, {queued.toLocaleString('en')} sent to review.
        </p>
      )}
    </div>
  );
}

export function ImportForm({ catalogues }: { catalogues: CatalogueOption[] }) {
  const router = useRouter();
  const formRef = useRef<HTMLFormElement>(null);
  const [target, setTarget] = useState<'existing' | 'new'>(catalogues.length > 0 ? 'existing' : 'new');
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
    try {
      const { status, body } = await upload(form, (fraction) =>
        setPhase(fraction < 1 ? { name: 'uploading', fraction } : { name: 'importing' }),
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
        <fieldset className="flex flex-col gap-2">
          <legend className="font-medium">Catalogue</legend>
          <div className="flex gap-4 text-sm">
            <label className="flex items-center gap-1">
              <input
                type="radio"
                name="target"
                checked={target === 'existing'}
                disabled={catalogues.length === 0}
                onChange={() => setTarget('existing')}
              />
              An existing catalogue
            </label>
            <label className="flex items-center gap-1">
              <input type="radio" name="target" checked={target === 'new'} onChange={() => setTarget('new')} />A new
              catalogue
            </label>
          </div>
          {target === 'existing' ? (
            <label className="flex flex-col text-sm">
              Existing catalogue
              <select
                name="catalogue"
                value={existing}
                onChange={(e) => setExisting(e.target.value)}
                className={`${field} w-96`}
              >
                {catalogues.map((c) => (
                  <option key={c.slug} value={c.slug}>
                    {c.name} ({c.slug}, {c.classNames.length} classes)
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <div className="flex flex-wrap gap-4">
              <input type="hidden" name="create" value="true" />
              <label className="flex flex-col text-sm">
                Slug (lower-case letters, digits, dashes)
                <input name="catalogue" required placeholder="shoes" className={`${field} w-64`} />
              </label>
              <label className="flex flex-col text-sm">
                Name
                <input name="name" required placeholder="Shoes" className={`${field} w-64`} />
              </label>
              <label className="flex flex-col text-sm">
                Class names, in order, one per line (line 1 is label 0)
                <textarea
                  name="classes"
                  required
                  rows={5}
                  value={classesText}
                  onChange={(e) => setClassesText(e.target.value)}
                  placeholder={'boot\nsandal\nsneaker'}
                  className={`${field} w-64 font-mono`}
                />
              </label>
            </div>
          )}
        </fieldset>

        <fieldset className="flex flex-col gap-2">
          <legend className="font-medium">Files</legend>
          <div className="flex gap-4 text-sm">
            {(
              [
                ['csv', 'CSV'],
                ['idx', 'IDX'],
                ['images', 'Images (PNG, JPEG, WebP)'],
              ] as const
            ).map(([value, label]) => (
              <label key={value} className="flex items-center gap-1">
                <input
                  type="radio"
                  name="kind"
                  value={value}
                  checked={kind === value}
                  onChange={() => setKind(value)}
                />
                {label}
              </label>
            ))}
          </div>
          {kind === 'csv' && (
            <label className="flex flex-col text-sm">
              CSV file
              <input key="csv" name="file" type="file" required accept=".csv,text/csv" className="mt-1" />
            </label>
          )}
          {kind === 'idx' && (
            <div className="flex flex-wrap gap-6">
              <label className="flex flex-col text-sm">
                Images file (idx3, raw or .gz)
                <input key="idx-images" name="file" type="file" required className="mt-1" />
              </label>
              <label className="flex flex-col text-sm">
                Labels file (idx1, optional)
                <input key="idx-labels" name="labels" type="file" className="mt-1" />
              </label>
            </div>
          )}
          {kind === 'images' && (
            <div className="flex flex-wrap gap-6">
              <label className="flex flex-col text-sm">
                Image files (several allowed)
                <input
                  key="images"
                  name="file"
                  type="file"
                  required
                  multiple
                  accept="image/png,image/jpeg,image/webp"
                  className="mt-1"
                />
              </label>
              <label className="flex flex-col text-sm">
                Label for all (optional)
                <select name="label" defaultValue="" className={`${field} w-48`}>
                  <option value="">no label</option>
                  {classNames.map((name, index) => (
                    <option key={`${index}-${name}`} value={index}>
                      {index}: {name}
                    </option>
                  ))}
                </select>
              </label>
            </div>
          )}
          <p className="text-xs text-gray-500">
            At most {describeBytes(MAX_UPLOAD_BYTES)} per upload; larger data sets: npm run import on the server.
          </p>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" name="keepDuplicates" value="true" className="h-4 w-4" />
            Import images already in the catalogue anyway (same pixels, under any file name); without this they are
            skipped and listed
          </label>
        </fieldset>

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

      <div className="mt-4" aria-live="polite">
        {phase.name === 'uploading' && (
          <div data-testid="upload-progress" className="flex items-center gap-2 text-sm">
            <progress className="h-2 w-80" max={1} value={phase.fraction} />
            Uploading… {Math.round(phase.fraction * 100)}%
          </div>
        )}
        {phase.name === 'importing' && <p className="text-sm">Uploaded; checking and importing the files…</p>}
        {phase.name === 'error' && (
          <p role="alert" data-testid="import-error" className="text-sm text-red-700">
            {phase.message}
          </p>
        )}
        {phase.name === 'done' && (
          <div className="flex flex-col gap-2">
            <p role="status" data-testid="import-result" className="text-sm text-green-800">
              Imported into {phase.result.catalogue.name}
              {phase.result.created ? ' (new catalogue)' : ''}:{' '}
              <span data-testid="import-inserted">{count(phase.result.inserted, 'new item', 'new items')}</span> of{' '}
              {count(phase.result.total, 'row', 'rows')}
              {phase.result.alreadyPresent > 0
                ? `; ${count(phase.result.alreadyPresent, 'was', 'were')} already there`
                : ''}
              .{' '}
              <Link className="text-blue-700 hover:underline" href={`/catalogues/${phase.result.catalogue.slug}`}>
                Browse the catalogue
              </Link>
            </p>
            {phase.result.duplicates > 0 && (
              <p data-testid="import-duplicates" className="text-sm text-amber-800">
                {describeDuplicates(phase.result)}
              </p>
            )}
            <ScoringProgress key={phase.result.importId} result={phase.result} />
          </div>
        )}
      </div>
    </div>
  );
}
