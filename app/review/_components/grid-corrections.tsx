import { itemImageUrl } from './review-api';

/** For each item marked wrong, the class it really is; the model's class is not offered. */
export function GridCorrections({
  marks,
  predictedClass,
  classNames,
  locked,
  onChoose,
  onUnmark,
}: {
  marks: Map<number, number | null>;
  predictedClass: number;
  classNames: string[];
  locked: boolean;
  onChoose: (itemId: number, label: number) => void;
  onUnmark: (itemId: number) => void;
}) {
  const marked = [...marks.entries()];
  return (
    <section
      aria-labelledby="grid-corrections-heading"
      className="flex min-w-64 flex-col gap-2"
      data-testid="grid-corrections"
    >
      <h2 id="grid-corrections-heading" className="text-sm font-semibold text-gray-600">
        Marked wrong ({marked.length})
      </h2>
      {marked.length === 0 && (
        <p className="text-sm text-gray-600">None: the submit confirms every item as {classNames[predictedClass]}.</p>
      )}
      <ul className="flex flex-col gap-2">
        {marked.map(([itemId, label]) => (
          <li key={itemId} className="flex items-center gap-2">
            <img src={itemImageUrl(itemId)} alt="" width={42} height={42} className="pixelated bg-black" />
            <label className="flex flex-col text-xs text-gray-600">
              Item #{itemId} is
              <select
                data-testid={`grid-correction-${itemId}`}
                aria-label={`Correct class for item ${itemId}`}
                disabled={locked}
                value={label ?? ''}
                onChange={(event) => event.target.value !== '' && onChoose(itemId, Number(event.target.value))}
                className={`mt-0.5 rounded border px-1 py-0.5 text-sm text-gray-900 ${label === null ? 'border-red-500' : 'border-gray-300'}`}
              >
                <option value="" disabled>
                  Choose the class…
                </option>
                {classNames.map((name, index) =>
                  index === predictedClass ? null : (
                    <option key={name} value={index}>
                      {name}
                    </option>
                  ),
                )}
              </select>
            </label>
            {!locked && (
              <button
                type="button"
                onClick={() => onUnmark(itemId)}
                className="ml-auto rounded border border-gray-300 px-1.5 text-xs hover:bg-gray-100"
                aria-label={`Unmark item ${itemId}`}
              >
                Unmark
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
