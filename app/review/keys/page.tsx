import Link from 'next/link';
import { getDb } from '@/db/client';
import { isAppError } from '@/lib/errors';
import { requirePageAccess } from '@/lib/http/page-auth';
import { classKeysOf, defaultClassKeys, RESERVED_KEYS } from '@/lib/review/class-keys';
import { pickReviewCatalogue, type ReviewCatalogue } from '@/lib/review/overview';
import { ClassKeysForm } from '../_components/class-keys-form';
import { ReviewUnavailable } from '../_components/review-unavailable';

export const dynamic = 'force-dynamic';

/** Admins choose the key of each class for the review pages (saved through PUT .../class-keys). */
export default async function ClassKeysPage({
  searchParams,
}: {
  searchParams: Promise<{ catalogue?: string | string[] }>;
}) {
  const { catalogue: param } = await searchParams;
  const slug = typeof param === 'string' ? param : undefined;
  const access = await requirePageAccess(
    'settings.write',
    slug ? `/review/keys?catalogue=${encodeURIComponent(slug)}` : '/review/keys',
  );
  let picked: ReviewCatalogue;
  try {
    picked = await pickReviewCatalogue(getDb(), { actor: access.actor, slug });
  } catch (error) {
    if (isAppError(error) && (error.code === 'not_found' || error.code === 'bad_input'))
      return <ReviewUnavailable message={error.message} />;
    throw error;
  }
  const { catalogue } = picked;
  const reserved = Object.keys(RESERVED_KEYS)
    .map((key) => (key === ' ' ? 'Space' : key.toUpperCase()))
    .join(', ');
  return (
    <main className="mx-auto max-w-3xl p-4 sm:p-6">
      <h1 className="text-2xl font-semibold">Class keys: {catalogue.name}</h1>
      <p className="mt-2 text-sm text-gray-700">
        The key that picks each class in the focus view and the grid. One letter, digit or punctuation mark per class,
        each used once; leave a box empty for no key. Taken by other shortcuts: {reserved}, Enter, Backspace, Escape and
        the arrows. The default is 1-9, 0, then the free letters.
      </p>
      <ClassKeysForm
        key={catalogue.slug}
        catalogueSlug={catalogue.slug}
        classNames={catalogue.classNames}
        initialKeys={classKeysOf(catalogue)}
        defaultKeys={defaultClassKeys(catalogue.classNames.length)}
        custom={catalogue.classKeys !== null}
      />
      <p className="mt-6 text-sm">
        <Link href={`/review?catalogue=${encodeURIComponent(catalogue.slug)}`} className="text-blue-700 underline">
          Back to review
        </Link>
      </p>
    </main>
  );
}
