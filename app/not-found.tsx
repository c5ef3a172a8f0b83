import type { Metadata } from 'next';
import Link from 'next/link';
import { headers } from 'next/headers';

export const metadata: Metadata = { title: 'Not found · Loupe' };

/**
 * Every unknown address and every notFound() (an unknown catalogue or item, or an item a
 * reviewer may not see) lands here with status 404, inside the app's own layout and menu.
 */
export default async function NotFound() {
  // proxy.ts forwards the page's path (signed-in requests only): the way back depends on it.
  const pathname = (await headers()).get('x-loupe-pathname') ?? '';
  const item = /^\/catalogues\/([^/]+)\/items\/([^/]+)\/?$/.exec(pathname);
  const catalogue = /^\/catalogues\/([^/]+)\/?$/.exec(pathname);
  const back = item
    ? { href: `/catalogues/${item[1]}`, label: 'Back to the catalogue' }
    : { href: '/catalogues', label: 'All catalogues' };
  return (
    <main className="mx-auto max-w-xl p-8" data-testid="not-found">
      <h1 className="text-xl font-semibold">Not found</h1>
      <p className="mt-2 text-gray-700">
        {item
          ? `There is no item ${decodeSegment(item[2]!)} here: the id may be wrong, or the item is not one your role can see.`
          : catalogue
            ? `There is no catalogue "${decodeSegment(catalogue[1]!)}".`
            : 'There is no page at this address.'}
      </p>
      <p className="mt-4 flex flex-wrap gap-4">
        <Link className="text-blue-700 hover:underline" href={back.href} data-testid="not-found-back">
          {back.label}
        </Link>
        <Link className="text-blue-700 hover:underline" href="/">
          Home
        </Link>
      </p>
    </main>
  );
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
