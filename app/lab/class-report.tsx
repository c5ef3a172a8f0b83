import type { AverageMetrics, ClassMetrics } from '@/lib/ml/metrics';

const fixed = (x: number) => x.toFixed(3);

/** Precision, recall, F1 and support per class, with the macro average (sklearn's classification report). */
export function ClassReport({ perClass, macroAvg }: { perClass: ClassMetrics[]; macroAvg: AverageMetrics }) {
  return (
    <table className="text-xs tabular-nums" data-testid="lab-class-report" aria-label="Classification report">
      <thead>
        <tr className="text-gray-500">
          <th className="px-2 text-left font-normal">class</th>
          <th className="px-2 text-right font-normal">precision</th>
          <th className="px-2 text-right font-normal">recall</th>
          <th className="px-2 text-right font-normal">F1</th>
          <th className="px-2 text-right font-normal">support</th>
        </tr>
      </thead>
      <tbody>
        {[...perClass, { class: 'macro avg', ...macroAvg }].map((m) => (
          <tr key={m.class} className={m.class === 'macro avg' ? 'border-t font-medium' : ''}>
            <td className="px-2">{m.class}</td>
            <td className="px-2 text-right">{fixed(m.precision)}</td>
            <td className="px-2 text-right">{fixed(m.recall)}</td>
            <td className="px-2 text-right">{fixed(m.f1)}</td>
            <td className="px-2 text-right">{m.support}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
