'use client';

import {
  getCoreRowModel,
  useReactTable,
  type PaginationState,
  type SortingState,
  type Updater,
} from '@tanstack/react-table';
import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { ItemPage } from '@/lib/catalogue/browse';
import { ITEM_FILTER_NAMES } from '@/lib/catalogue/filter-names';
import { describeScope } from '@/lib/catalogue/scope-sentence';
import { GoToItem } from './go-to-item';
import { ItemFilters } from './item-filters';
import { itemColumns } from './items-columns';
import { ItemsPager } from './items-pager';
import { ItemsTable } from './items-table';

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

  const showEvaluation = page.scope.evaluationShown;
  const columns = useMemo(() => itemColumns(slug, { showEvaluation }), [slug, showEvaluation]);
  const filtered = ITEM_FILTER_NAMES.some((name) => query[name] !== undefined);
  const scope = describeScope(page.scope);
  // The export reads the same filters as the browser (its page and sort do not apply).
  const exportQuery = (format: string) => {
    const params = new URLSearchParams({ format });
    for (const name of ITEM_FILTER_NAMES) if (query[name] !== undefined) params.set(name, String(query[name]));
    return `/api/v1/catalogues/${encodeURIComponent(slug)}/export?${params.toString()}`;
  };

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
        <h1 className="text-2xl font-semibold break-words">{catalogue.name}</h1>
        <span className="text-sm text-gray-600" data-testid="items-count">
          <span data-testid="items-total">{total.toLocaleString('en-US')}</span>
          {filtered ? ` of ${page.catalogueTotal.toLocaleString('en-US')} items match` : ' items'}
          {scope && <span data-testid="items-scope"> ({scope})</span>}
          {page.activeModel ? ` · predictions of ${page.activeModel.name}` : ' · no active model'}
        </span>
        {canExport && (
          <span className="flex flex-wrap gap-2 text-sm sm:ml-auto">
            {/* Plain links: the browser downloads the streamed file; the route checks export.read. */}
            <a
              className="rounded border border-gray-300 bg-white px-2 py-1 hover:bg-gray-100"
              href={exportQuery('csv')}
              download
              data-testid="export-csv"
            >
              {filtered ? `Export these ${total.toLocaleString('en-US')} items (CSV)` : 'Export all labels (CSV)'}
            </a>
            <a
              className="rounded border border-gray-300 bg-white px-2 py-1 hover:bg-gray-100"
              href={exportQuery('json')}
              download
              data-testid="export-json"
            >
              JSON
            </a>
          </span>
        )}
      </div>
      <div className="mt-3">
        <GoToItem slug={slug} catalogueName={catalogue.name} />
      </div>

      <ItemFilters
        key={key}
        query={query}
        classNames={catalogue.classNames}
        showEvalRole={showEvaluation}
        onChange={navigate}
      />

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
        <ItemsTable table={table} />
      </div>

      <ItemsPager table={table} page={query.page} pageCount={pageCount} pageSize={query.pageSize} />
    </section>
  );
}
