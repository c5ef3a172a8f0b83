export interface ClassQueueCount {
  classIndex: number;
  className: string;
  needsReview: number;
  available: number;
}

/** The grid view's first step: which predicted class to confirm in batches, with what is waiting. */
export function GridClassPicker({
  counts,
  disabled,
  onPick,
}: {
  counts: ClassQueueCount[];
  disabled: boolean;
  onPick: (classIndex: number) => void;
}) {
  const total = counts.reduce((sum, c) => sum + c.needsReview, 0);
  return (
    <section aria-labelledby="grid-picker-heading" data-testid="grid-class-picker">
      <h2 id="grid-picker-heading" className="text-lg font-semibold">
        Pick a class the model predicted
      </h2>
      <p className="mt-1 text-sm text-gray-700">
        You get up to 25 items the model put in that class, most confident first. Mark the wrong ones; one submit
        confirms the rest. {total} items need review in all.
      </p>
      <ul className="mt-3 grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {counts.map((c) => (
          <li key={c.classIndex}>
            <button
              type="button"
              data-testid={`grid-class-${c.classIndex}`}
              disabled={disabled || c.available === 0}
              onClick={() => onPick(c.classIndex)}
              className="flex w-full items-center justify-between rounded border border-gray-300 bg-white px-3 py-2 text-left hover:bg-gray-100 disabled:cursor-not-allowed disabled:opacity-50"
            >
              <span className="font-medium">{c.className}</span>
              <span className="text-right text-sm text-gray-600 tabular-nums">
                <span data-testid={`grid-class-count-${c.classIndex}`}>{c.needsReview}</span> need review
                <span className="block text-xs" data-testid={`grid-class-free-${c.classIndex}`}>
                  {c.available} free for you
                </span>
              </span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
