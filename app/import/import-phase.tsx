import Link from 'next/link';
import { describeDuplicates } from '@/lib/import/duplicates';
import { count, type ImportResponse } from './import-api';
import { ImportingProgress } from './importing-progress';
import { ScoringProgress } from './scoring-progress';

export type Phase =
  | { name: 'idle' }
  | { name: 'uploading'; fraction: number }
  | { name: 'importing'; catalogue: string }
  | { name: 'done'; result: ImportResponse }
  | { name: 'error'; message: string };

/** Where the import stands: the upload's progress, the refusal, or the result and its scoring. */
export function ImportPhaseView({ phase }: { phase: Phase }) {
  return (
    <div className="mt-4" aria-live="polite">
      {phase.name === 'uploading' && (
        <div data-testid="upload-progress" className="flex items-center gap-2 text-sm">
          <progress className="h-2 w-80" max={1} value={phase.fraction} />
          Uploading… {Math.round(phase.fraction * 100)}%
        </div>
      )}
      {phase.name === 'importing' && <ImportingProgress catalogue={phase.catalogue} />}
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
  );
}
