import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getDb } from '@/db/client';
import { can } from '@/lib/auth/permissions';
import { listItems } from '@/lib/catalogue/browse';
import { isAppError } from '@/lib/errors';
import { requirePageAccess } from '@/lib/http/page-auth';
import { ItemsBrowser } from './items-browser';

export const dynamic = 'force-dynamic';

type SearchParams = Record<string, string | string[] | undefined>;

/** The first value of each query parameter: what the items route would see. */
function firstValues(searchParams: SearchParams): Record<string, string> {
  const entries = Object.entries(searchParams).flatMap(([key, value]) => {
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? [] : [[key, first] as const];
  });
  return Object.fromEntries(entries);
}

export default async function CataloguePage({
  params,
  searchParams,
}: {
  params: Promise<{ slug: string }>;
  searchParams: Promise<SearchParams>;
}) {
  const { slug } = await params;
  const query = firstValues(await searchParams);
  const access = await requirePageAccess(
    'catalogue.read',
    `/catalogues/${encodeURIComponent(slug)}?${new URLSearchParams(query).toString()}`,
  );

  // The first page is rendered on the server; the table fetches the items route after that.
  let initial: Awaited<ReturnType<typeof listItems>> | null = null;
  let problem: string | null = null;
  try {
    initial = await listItems(getDb(), { ...query, catalogue: slug, actor: access.actor });
  } catch (error) {
    if (!isAppError(error)) throw error;
    if (error.code === 'not_found') notFound();
    if (error.code !== 'bad_input') throw error;
    problem = error.message;
  }

  return (
    <main className="mx-auto max-w-6xl p-6">
      <p className="text-sm">
        <Link className="text-blue-700 hover:underline" href="/catalogues">
          Catalogues
        </Link>
      </p>
      {initial ? (
        <ItemsBrowser slug={slug} initial={initial} canExport={can(access.actor.role, 'export.read')} />
      ) : (
        <div className="mt-4 rounded border border-amber-300 bg-amber-50 p-4" data-testid="items-error">
          <p>This view&apos;s address is not valid: {problem}</p>
          <Link className="mt-2 inline-block text-blue-700 hover:underline" href={`/catalogues/${slug}`}>
            Show the whole catalogue
          </Link>
        </div>
      )}
    </main>
  );
}
