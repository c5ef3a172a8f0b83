import { keyLabel, type TopPrediction } from './review-api';
import { Kbd } from './kbd';

/** The model's three most probable classes with their calibrated probabilities. */
export function TopPredictions({
  top,
  scored,
  classKeys,
}: {
  top: TopPrediction[];
  scored: boolean;
  classKeys: (string | null)[];
}) {
  return (
    <section aria-labelledby="top-heading">
      <h2 id="top-heading" className="text-sm font-semibold text-gray-600">
        The model&apos;s top 3 <span className="font-normal">(calibrated probability)</span>
      </h2>
      {!scored && (
        <p className="mt-2 text-sm text-gray-700">
          The active model has not scored this item yet: choose its class below.
        </p>
      )}
      <ol className="mt-2 flex flex-col gap-1.5" data-testid="top-predictions">
        {top.map((p, rank) => {
          const key = classKeys[p.classIndex] ?? null;
          const percent = p.prob * 100;
          return (
            <li
              key={p.classIndex}
              data-class-index={p.classIndex}
              className="grid grid-cols-[minmax(0,9rem)_1fr_4rem] items-center gap-2 text-sm"
            >
              <span className={`flex items-center gap-1.5 ${rank === 0 ? 'font-semibold' : ''}`}>
                {key && <Kbd>{keyLabel(key)}</Kbd>}
                {p.className}
              </span>
              <span className="h-3 overflow-hidden rounded bg-gray-200" aria-hidden="true">
                <span
                  className={`block h-full ${rank === 0 ? 'bg-blue-600' : 'bg-gray-500'}`}
                  style={{ width: `${Math.max(0.5, percent)}%` }}
                />
              </span>
              <span className="text-right tabular-nums">{percent < 0.1 ? '<0.1' : percent.toFixed(1)}%</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
