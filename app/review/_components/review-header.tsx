import Link from 'next/link';
import type { ReactNode } from 'react';

export interface CatalogueChoice {
  slug: string;
  name: string;
}

/** Title, catalogue switcher and the link to the other view; shared by focus and grid. */
export function ReviewHeader({
  title,
  catalogue,
  choices,
  basePath,
  other,
  children,
}: {
  title: string;
  catalogue: CatalogueChoice;
  choices: CatalogueChoice[];
  basePath: string;
  other: { href: string; label: string };
  children?: ReactNode;
}) {
  return (
    <div className="flex flex-wrap items-center gap-x-6 gap-y-3">
      <div>
        <h1 className="text-2xl font-semibold">{title}</h1>
        {choices.length > 1 ? (
          <nav aria-label="Catalogues" className="mt-1 flex flex-wrap gap-2 text-sm">
            {choices.map((choice) =>
              choice.slug === catalogue.slug ? (
                <span key={choice.slug} aria-current="page" className="rounded bg-gray-900 px-2 py-0.5 text-white">
                  {choice.name}
                </span>
              ) : (
                <Link
                  key={choice.slug}
                  href={`${basePath}?catalogue=${encodeURIComponent(choice.slug)}`}
                  className="rounded border border-gray-300 px-2 py-0.5 text-gray-700 hover:bg-gray-100"
                >
                  {choice.name}
                </Link>
              ),
            )}
          </nav>
        ) : (
          <p className="mt-1 text-sm text-gray-600">{catalogue.name}</p>
        )}
      </div>
      <Link
        href={`${other.href}?catalogue=${encodeURIComponent(catalogue.slug)}`}
        className="rounded border border-gray-300 bg-white px-3 py-1 text-sm hover:bg-gray-100"
        data-testid="switch-view"
      >
        {other.label}
      </Link>
      <div className="ml-auto">{children}</div>
    </div>
  );
}
