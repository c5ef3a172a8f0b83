/**
 * The confusion matrix as a heatmap: rows are true classes, columns predicted ones, each cell
 * shaded by its share of its row (recall on the diagonal); off-diagonal cells in red.
 */
export function ConfusionHeatmap({ confusion, classNames }: { confusion: number[][]; classNames: string[] }) {
  return (
    <div className="overflow-x-auto">
      <table className="border-collapse text-xs tabular-nums" data-testid="lab-heatmap" aria-label="Confusion matrix">
        <thead>
          <tr>
            <th className="px-1 text-left font-normal text-gray-500">true \ predicted</th>
            {classNames.map((name) => (
              <th key={name} className="max-w-16 truncate px-1 font-normal" title={name}>
                {name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {confusion.map((row, r) => {
            const total = row.reduce((sum, n) => sum + n, 0) || 1;
            return (
              <tr key={r}>
                <th className="px-1 text-left font-normal" scope="row">
                  {classNames[r]}
                </th>
                {row.map((count, c) => {
                  const share = count / total;
                  const colour =
                    r === c ? `rgba(22, 101, 52, ${share})` : `rgba(185, 28, 28, ${Math.min(1, share * 3)})`;
                  return (
                    <td
                      key={c}
                      className={`h-8 w-12 border border-white text-center ${share > 0.5 ? 'text-white' : 'text-gray-900'}`}
                      style={{ backgroundColor: count === 0 ? '#f9fafb' : colour }}
                      title={`${classNames[r]} predicted as ${classNames[c]}: ${count} (${(share * 100).toFixed(1)}% of the row)`}
                      data-cell={`${r}-${c}`}
                    >
                      {count}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
