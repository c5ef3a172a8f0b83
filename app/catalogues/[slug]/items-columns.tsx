import { createColumnHelper } from '@tanstack/react-table';
import Link from 'next/link';
import type { ItemStatus } from '@/db/schema';
import type { ItemRow } from '@/lib/catalogue/browse';
import { STATUS_LABELS } from './item-filters';

const STATUS_STYLE: Record<ItemStatus, string> = {
  unscored: 'bg-gray-100 text-gray-700',
  auto_accepted: 'bg-emerald-50 text-emerald-800',
  needs_review: 'bg-amber-50 text-amber-800',
  reviewed: 'bg-blue-50 text-blue-800',
};

const column = createColumnHelper<ItemRow>();

/**
 * The items table's columns: the image and id link to the item's page; sorting is the server's.
 * The evaluation-role column only for readers who may see evaluation items (for others it is empty).
 */
export function itemColumns(slug: string, options: { showEvaluation: boolean }) {
  const columns = [
    column.display({
      id: 'image',
      header: '',
      cell: ({ row }) => (
        <Link href={`/catalogues/${slug}/items/${row.original.id}`} aria-label={`Open item ${row.original.id}`}>
          {}
          <img
            src={`/api/v1/items/${row.original.id}/image`}
            alt=""
            width={40}
            height={40}
            loading="lazy"
            // max-w-none: a table column on a narrow screen would otherwise shrink the image to nothing.
            className="pixelated h-10 w-10 max-w-none rounded-sm bg-black"
          />
        </Link>
      ),
    }),
    column.accessor('id', {
      header: 'Item',
      cell: ({ getValue }) => (
        <Link
          className="text-blue-700 hover:underline"
          href={`/catalogues/${slug}/items/${getValue()}`}
          data-testid="item-link"
        >
          #{getValue()}
        </Link>
      ),
    }),
    column.accessor('status', {
      header: 'Status',
      cell: ({ getValue }) => (
        <span className={`rounded px-1.5 py-0.5 text-xs ${STATUS_STYLE[getValue()]}`}>{STATUS_LABELS[getValue()]}</span>
      ),
    }),
    column.accessor('currentLabel', {
      id: 'label',
      header: 'Current label',
      cell: ({ row }) => row.original.currentLabelName ?? <span className="text-gray-400">none</span>,
    }),
    column.accessor('labelSource', {
      header: 'Label from',
      cell: ({ getValue }) => getValue() ?? <span className="text-gray-400">-</span>,
    }),
    column.accessor('predictedClass', {
      id: 'predicted',
      header: 'Model says',
      cell: ({ row }) => row.original.predictedClassName ?? <span className="text-gray-400">not scored</span>,
    }),
    column.accessor('confidence', {
      header: 'Confidence',
      cell: ({ getValue }) => <Confidence value={getValue()} />,
    }),
  ];
  if (!options.showEvaluation) return columns;
  return [
    ...columns,
    column.accessor('evalRole', { header: 'Eval', enableSorting: false, cell: ({ getValue }) => getValue() ?? '' }),
  ];
}

function Confidence({ value }: { value: number | null }) {
  if (value === null) return <span className="text-gray-400">-</span>;
  return (
    <span className="flex items-center gap-2">
      <span className="h-1.5 w-16 rounded bg-gray-200" aria-hidden>
        <span className="block h-1.5 rounded bg-gray-700" style={{ width: `${Math.round(value * 100)}%` }} />
      </span>
      <span className="tabular-nums">{value.toFixed(3)}</span>
    </span>
  );
}
