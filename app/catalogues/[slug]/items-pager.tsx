import type { Table } from '@tanstack/react-table';
import type { ItemRow } from '@/lib/catalogue/browse';

const PAGE_SIZES = [25, 50, 100, 200];

/** First / previous / next / last and the page size, driving the table's (server) pagination. */
export function ItemsPager(props: { table: Table<ItemRow>; page: number; pageCount: number; pageSize: number }) {
  const { table, page, pageCount, pageSize } = props;
  return (
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
        Page {page.toLocaleString('en-US')} of {pageCount.toLocaleString('en-US')}
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
          value={pageSize}
          onChange={(e) => table.setPageSize(Number(e.target.value))}
          data-testid="page-size"
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
