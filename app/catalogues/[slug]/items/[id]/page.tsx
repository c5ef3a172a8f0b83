import type { ReactNode } from 'react';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getDb } from '@/db/client';
import { isAppError } from '@/lib/errors';
import { requirePageAccess } from '@/lib/http/page-auth';
import { getItemDetail, type ItemDetail, type ItemPrediction } from '@/lib/catalogue/item-detail';

export const dynamic = 'force-dynamic';

const ACTION_STYLE: Record<string, string> = {
  confirm: 'bg-emerald-50 text-emerald-800',
  correct: 'bg-blue-50 text-blue-800',
  skip: 'bg-gray-100 text-gray-700',
  unsure: 'bg-amber-50 text-amber-800',
  undo: 'bg-red-50 text-red-800',
};

export default async function ItemPage({ params }: { params: Promise<{ slug: string; id: string }> }) {
  const { slug, id } = await params;
  const access = await requirePageAccess(
    'catalogue.read',
    `/catalogues/${encodeURIComponent(slug)}/items/${encodeURIComponent(id)}`,
  );
  let detail: ItemDetail;
  try {
    detail = await getItemDetail(getDb(), { itemId: id, catalogue: slug, actor: access.actor });
  } catch (error) {
    if (isAppError(error) && (error.code === 'not_found' || error.code === 'bad_input')) notFound();
    throw error;
  }
  const { item, catalogue } = detail;

  return (
    <main className="mx-auto max-w-6xl p-6" data-testid="item-detail">
      <p className="text-sm">
        <Link className="text-blue-700 hover:underline" href="/catalogues">
          Catalogues
        </Link>
        {' / '}
        <Link
          className="text-blue-700 hover:underline"
          href={`/catalogues/${catalogue.slug}`}
          data-testid="back-to-catalogue"
        >
          {catalogue.name}
        </Link>
      </p>
      <h1 className="mt-1 text-2xl font-semibold">Item #{item.id}</h1>

      <div className="mt-4 flex flex-wrap gap-6">
        {/* 28x28 scaled 12x with hard pixel edges: what the model saw, no smoothing. */}
        {}
        <img
          src={`/api/v1/items/${item.id}/image`}
          alt={`Item ${item.id}`}
          width={336}
          height={336}
          className="pixelated aspect-square h-auto w-full max-w-[336px] rounded bg-black"
          data-testid="item-image"
        />
        <dl className="grid h-fit grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="item-facts">
          <Fact term="Current label">
            <span className="font-medium" data-testid="item-current-label">
              {item.currentLabelName ?? 'none'}
            </span>
            {item.labelSource && <span className="text-gray-600"> (from {item.labelSource})</span>}
          </Fact>
          <Fact term="Status">{item.status.replace('_', ' ')}</Fact>
          {item.evalRole && <Fact term="Evaluation role">{item.evalRole}</Fact>}
          <Fact term="Label at import">{item.importLabelName ?? <span className="text-gray-500">none</span>}</Fact>
          <Fact term="Source">
            <span className="break-all">{item.source}</span>, row {item.sourceRow}
          </Fact>
          {item.externalId && <Fact term="External id">{item.externalId}</Fact>}
          <Fact term="Imported">{formatTime(item.createdAt)}</Fact>
        </dl>
      </div>

      <h2 className="mt-8 text-lg font-semibold">Predictions</h2>
      {detail.predictions.length === 0 ? (
        <p className="mt-2 text-sm text-gray-600">No model has scored this item yet.</p>
      ) : (
        <div className="mt-2 grid gap-4 md:grid-cols-2" data-testid="item-predictions">
          {detail.predictions.map((p) => (
            <PredictionCard key={p.modelVersionId} prediction={p} classNames={catalogue.classNames} />
          ))}
        </div>
      )}

      <h2 className="mt-8 text-lg font-semibold">Review history</h2>
      {detail.reviews.length === 0 ? (
        <p className="mt-2 text-sm text-gray-600" data-testid="item-reviews-empty">
          Nobody has reviewed this item.
        </p>
      ) : (
        <div className="mt-2 overflow-x-auto shadow-sm">
          <table className="w-full border-collapse bg-white text-sm" data-testid="item-reviews">
            <thead>
              <tr className="border-b bg-gray-50 text-left text-gray-600">
                <th className="p-2">When</th>
                <th className="p-2">Reviewer</th>
                <th className="p-2">Action</th>
                <th className="p-2">Model said</th>
                <th className="p-2">Reviewer chose</th>
                <th className="p-2 text-right">Time taken</th>
              </tr>
            </thead>
            <tbody>
              {detail.reviews.map((r) => (
                <tr
                  key={r.id}
                  className={`border-b ${r.undone ? 'text-gray-400 line-through' : ''}`}
                  data-testid="item-review"
                >
                  <td className="p-2 whitespace-nowrap">{formatTime(r.createdAt)}</td>
                  <td className="p-2">{r.reviewerEmail}</td>
                  <td className="p-2">
                    <span className={`rounded px-1.5 py-0.5 text-xs no-underline ${ACTION_STYLE[r.action] ?? ''}`}>
                      {r.action}
                    </span>
                    {r.undone && <span className="ml-1 text-xs">(undone)</span>}
                  </td>
                  <td className="p-2">
                    {r.modelLabelName ?? '-'}
                    {r.modelName && <span className="text-xs text-gray-500"> ({r.modelName})</span>}
                  </td>
                  <td className="p-2">{r.chosenLabelName ?? '-'}</td>
                  <td className="p-2 text-right tabular-nums">
                    {r.action === 'undo' ? '' : `${(r.durationMs / 1000).toFixed(1)} s`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-gray-600">{term}</dt>
      <dd>{children}</dd>
    </>
  );
}

function PredictionCard({ prediction: p, classNames }: { prediction: ItemPrediction; classNames: string[] }) {
  return (
    <section className="rounded border border-gray-200 bg-white p-3 shadow-sm" data-testid="item-prediction">
      <header className="flex items-baseline gap-2">
        <span className="font-medium">{p.modelName}</span>
        <span
          className={`rounded px-1.5 py-0.5 text-xs ${p.modelStatus === 'active' ? 'bg-emerald-50 text-emerald-800' : 'bg-gray-100 text-gray-700'}`}
        >
          {p.modelStatus}
        </span>
        <span className="text-xs text-gray-500">{p.arch}</span>
        <span className="ml-auto text-sm">
          <span className="font-medium">{p.predictedClassName}</span> at{' '}
          <span className="tabular-nums">{p.confidence.toFixed(3)}</span>
        </span>
      </header>
      {/* Every class's calibrated probability, in class order. */}
      <ul className="mt-2 space-y-0.5 text-xs">
        {p.probs.map((prob, index) => (
          <li key={index} className="grid grid-cols-[7rem_1fr_3.5rem] items-center gap-2">
            <span className={index === p.predictedClass ? 'font-semibold' : 'text-gray-700'}>
              {classNames[index] ?? `class ${index}`}
            </span>
            <span className="h-2 rounded bg-gray-100">
              <span
                className={`block h-2 rounded ${index === p.predictedClass ? 'bg-gray-800' : 'bg-gray-400'}`}
                style={{ width: `${(prob * 100).toFixed(1)}%` }}
              />
            </span>
            <span className="text-right tabular-nums">{prob.toFixed(3)}</span>
          </li>
        ))}
      </ul>
      <p className="mt-2 text-xs text-gray-500">
        margin {p.margin.toFixed(3)} · scored {formatTime(p.scoredAt)}
      </p>
    </section>
  );
}

function formatTime(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}
