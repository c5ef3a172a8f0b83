'use client';

import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  useReactTable,
  type PaginationState,
  type SortingState,
  type Updater,
} from '@tanstack/react-table';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { ItemStatus } from '@/db/schema';
import type { ItemPage, ItemRow } from '@/lib/catalogue/browse';
import { ItemFilters, STATUS_LABELS } from './item-filters';

const STATUS_STYLE: Record<ItemStatus, string> = {
  unscored: 'bg-gray-100 text-gray-700',
  auto_accepted: 'bg-emerald-50 text-emerald-800',
  needs_review: 'bg-amber-50 text-amber-800',
  reviewed: 'bg-blue-50 text-blue-800',
};

const column = createColumnHelper<ItemRow>();

/**
 * The catalogue's items as a server-paginated, server-sorted, server-filtered table. The URL's
 * query string is the whole state (so a view can be shared or bookmarked); changing a control
 * pushes a new URL and the table fetches that page from the items route.
 */
export function ItemsBrowser({ slug, initial, canExport }: { slug: string; initial: ItemPage; canExport: boolean }) {
  const searchParams = useSearchParams();
  const key = searchParams.toString();
  const [data, setData] = useState<{ key: string; page: ItemPage }>({ key, page: initial });
  const [error, setError] = useState<string | null>(null);
  const loading = data.key !== key && error === null;

  useEffect(() => {
    if (data.key === key) return;
    const controller = new AbortController();
    setError(null);
    fetch(`/api/v1/catalogues/${encodeURIComponent(slug)}/items?${key}`, { signal: controller.signal })
      .then(async (response) => {
        const body = (await response.json()) as ItemPage | { error: { message: string } };
        if ('error' in body) setError(body.error.message);
        else setData({ key, page: body });
      })
      .catch((cause: unknown) => {
        if (!controller.signal.aborted)
          setError(`The items could not be loaded (${cause instanceof Error ? cause.message : 'network error'}).`);
      });
    return () => controller.abort();
  }, [key, slug, data.key]);

  /** Pushes a new query string; any change but the page number goes back to page 1. */
  function navigate(patch: Record<string, string | undefined>) {
    const next = new URLSearchParams(searchParams);
    for (const [name, value] of Object.entries(patch)) {
      if (value === undefined || value === '') next.delete(name);
      else next.set(name, value);
    }
    if (!('page' in patch)) next.delete('page');
    const query = next.toString();
    // Next's router follows history.pushState: useSearchParams updates without a server render.
    window.history.pushState(null, '', query ? `?${query}` : window.location.pathname);
  }

  const page = data.page;
  const { query, total, catalogue } = page;
  const pageCount = Math.max(1, Math.ceil(total / query.pageSize));
  const sorting: SortingState = [{ id: query.sort, desc: query.dir === 'desc' }];
  const pagination: PaginationState = { pageIndex: query.page - 1, pageSize: query.pageSize };

  const columns = useMemo(
    () => [
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
              className="pixelated h-10 w-10 rounded-sm bg-black"
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
          <span className={`rounded px-1.5 py-0.5 text-xs ${STATUS_STYLE[getValue()]}`}>
            {STATUS_LABELS[getValue()]}
          </span>
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
      column.accessor('evalRole', { header: 'Eval', enableSorting: false, cell: ({ getValue }) => getValue() ?? '' }),
    ],
    [slug],
  );

  const table = useReactTable({
    data: page.rows,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => String(row.id),
    manualPagination: true,
    manualSorting: true,
    manualFiltering: true,
    enableMultiSort: false,
    enableSortingRemoval: false,
    // Low confidence first is the useful first click.
    sortDescFirst: false,
    pageCount,
    state: { sorting, pagination },
    onSortingChange: (updater: Updater<SortingState>) => {
      const next = (typeof updater === 'function' ? updater(sorting) : updater)[0];
      if (next) navigate({ sort: next.id === 'id' ? undefined : next.id, dir: next.desc ? 'desc' : undefined });
    },
    onPaginationChange: (updater: Updater<PaginationState>) => {
      const next = typeof updater === 'function' ? updater(pagination) : updater;
      if (next.pageSize !== pagination.pageSize) navigate({ pageSize: String(next.pageSize) });
      else navigate({ page: next.pageIndex === 0 ? undefined : String(next.pageIndex + 1) });
      // The page buttons sit below the table: show the new page from its first row.
      const top = document.querySelector('[data-testid=items-table]');
      if (top && top.getBoundingClientRect().top < 0) top.scrollIntoView({ block: 'start' });
    },
  });

  return (
    <section className="mt-2">
      <div className="flex flex-wrap items-baseline gap-x-4 gap-y-2">
        <h1 className="text-2xl font-semibold">{catalogue.name}</h1>
        <span className="text-sm text-gray-600">
          <span data-testid="items-total">{total.toLocaleString('en-US')}</span> items match
          {page.activeModel ? ` · predictions of ${page.activeModel.name}` : ' · no active model'}
        </span>
        {canExport && (
          <span className="ml-auto flex gap-2 text-sm">
            {/* Plain links: the browser downloads the streamed file; the route checks export.read. */}
            <a
              className="rounded border border-gray-300 bg-white px-2 py-1 hover:bg-gray-100"
              href={`/api/v1/catalogues/${slug}/export?format=csv`}
              download
              data-testid="export-csv"
            >
              Export all labels (CSV)
            </a>
            <a
              className="rounded border border-gray-300 bg-white px-2 py-1 hover:bg-gray-100"
              href={`/api/v1/catalogues/${slug}/export?format=json`}
              download
              data-testid="export-json"
            >
              JSON
            </a>
          </span>
        )}
      </div>

      <ItemFilters key={key} query={query} classNames={catalogue.classNames} onChange={navigate} />

      {error && (
        <p
          className="mt-3 rounded border border-red-300 bg-red-50 p-2 text-sm text-red-800"
          role="alert"
          data-testid="items-error"
        >
          {error}
        </p>
      )}

      <div
        className={`mt-3 overflow-x-auto rounded border border-gray-200 bg-white shadow-sm transition-opacity ${loading ? 'opacity-50' : ''}`}
        aria-busy={loading}
      >
        <table className="w-full border-collapse text-sm" data-testid="items-table">
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id} className="border-b bg-gray-50 text-left text-gray-600">
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  const canSort = header.column.getCanSort();
                  return (
                    <th
                      key={header.id}
                      className="p-2 font-medium"
                      aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
                    >
                      {canSort ? (
                        <button
                          type="button"
                          className="flex items-center gap-1 hover:text-black"
                          onClick={header.column.getToggleSortingHandler()}
                          data-testid={`sort-${header.column.id}`}
                        >
                          {flexRender(header.column.columnDef.header, header.getContext())}
                          <span aria-hidden className="text-xs">
                            {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}
                          </span>
                        </button>
                      ) : (
                        flexRender(header.column.columnDef.header, header.getContext())
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id} className="border-b last:border-0 hover:bg-gray-50" data-testid="items-row">
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id} className="px-2 py-1 align-middle">
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))}
            {page.rows.length === 0 && (
              <tr>
                <td colSpan={columns.length} className="p-6 text-center text-gray-600" data-testid="items-empty">
                  No item matches these filters.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>

      <nav className="mt-3 flex flex-wrap items-center gap-2 text-sm" aria-label="Pages">
        <button
          type="button"
          className="rounded border px-2 py-1 disabled:opacity-40"
          onClick={() => table.firstPage()}
          disabled={!table.getCanPreviousPage()}
          data-testid="page-first"
        >
          First
        </button>
        <button
          type="button"
          className="rounded border px-2 py-1 disabled:opacity-40"
          onClick={() => table.previousPage()}
          disabled={!table.getCanPreviousPage()}
          data-testid="page-prev"
        >
          Previous
        </button>
        <span data-testid="page-indicator">
          Page {query.page.toLocaleString('en-US')} of {pageCount.toLocaleString('en-US')}
        </span>
        <button
          type="button"
          className="rounded border px-2 py-1 disabled:opacity-40"
          onClick={() => table.nextPage()}
          disabled={!table.getCanNextPage()}
          data-testid="page-next"
        >
          Next
        </button>
        <button
          type="button"
          className="rounded border px-2 py-1 disabled:opacity-40"
          onClick={() => table.lastPage()}
          disabled={!table.getCanNextPage()}
          data-testid="page-last"
        >
          Last
        </button>
        <label className="ml-auto flex items-center gap-1">
          Per page
          <select
            className="rounded border px-1 py-0.5"
            value={query.pageSize}
            onChange={(e) => table.setPageSize(Number(e.target.value))}
            data-testid="page-size"
          >
            {[25, 50, 100, 200].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </nav>
    </section>
  );
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
