import { flexRender, type Table } from '@tanstack/react-table';
import type { ItemRow } from '@/lib/catalogue/browse';

/** The table itself: sortable headers (the server sorts) and one row per item of the page. */
export function ItemsTable({ table }: { table: Table<ItemRow> }) {
  return (
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
                      className="flex items-center gap-1 hover:text-gray-950"
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
        {table.getRowModel().rows.length === 0 && (
          <tr>
            <td
              colSpan={table.getAllColumns().length}
              className="p-6 text-center text-gray-600"
              data-testid="items-empty"
            >
              No item matches these filters.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
