import Link from 'next/link';

export interface GridItem {
  itemId: number;
  actual: number;
  predicted: number;
  confidence: number;
}

/** Test images with their actual and predicted labels; a wrong prediction is outlined in red. */
export function PredictionGrid({
  items,
  classNames,
  wrongOnly,
  toggleHref,
}: {
  items: GridItem[];
  classNames: string[];
  wrongOnly: boolean;
  toggleHref: string;
}) {
  return (
    <div>
      <p className="text-xs text-gray-600">
        {wrongOnly ? 'Wrong predictions only. ' : 'The first test items. '}
        <Link className="underline" href={toggleHref} data-testid="lab-grid-toggle">
          {wrongOnly ? 'Show all' : 'Show only the wrong ones'}
        </Link>
      </p>
      <ul className="mt-2 grid grid-cols-4 gap-2 sm:grid-cols-6 lg:grid-cols-8" data-testid="lab-prediction-grid">
        {items.map((item) => {
          const wrong = item.actual !== item.predicted;
          return (
            <li
              key={item.itemId}
              className={`rounded border-2 p-1 text-center text-xs ${wrong ? 'border-red-600 bg-red-50' : 'border-transparent'}`}
              data-testid="lab-prediction"
              data-wrong={wrong ? 'true' : 'false'}
            >
              {/* A plain <img>: next/image would resample the 28x28 PNG; `pixelated` keeps hard edges. */}
              <img
                src={`/api/v1/items/${item.itemId}/image`}
                alt={`item ${item.itemId}`}
                width={56}
                height={56}
                className="pixelated mx-auto bg-black"
              />
              <div title="actual label">{classNames[item.actual]}</div>
              <div className={wrong ? 'font-semibold text-red-700' : 'text-green-800'} title="predicted label">
                {wrong ? '✗ ' : '✓ '}
                {classNames[item.predicted]} {(item.confidence * 100).toFixed(0)}%
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
