import { getDb } from '@/db/client';
import { isAppError } from '@/lib/errors';
import { can } from '@/lib/auth/permissions';
import { requirePageAccess } from '@/lib/http/page-auth';
import { classKeysOf } from '@/lib/review/class-keys';
import { pickReviewCatalogue, type ReviewCatalogue } from '@/lib/review/overview';
import { FocusReview } from './_components/focus-review';
import { ReviewUnavailable } from './_components/review-unavailable';

export const dynamic = 'force-dynamic';

export default async function ReviewPage({
  searchParams,
}: {
  searchParams: Promise<{ catalogue?: string | string[] }>;
}) {
  const { catalogue: param } = await searchParams;
  const slug = typeof param === 'string' ? param : undefined;
  const access = await requirePageAccess(
    'items.review',
    slug ? `/review?catalogue=${encodeURIComponent(slug)}` : '/review',
  );
  let picked: ReviewCatalogue;
  try {
    picked = await pickReviewCatalogue(getDb(), { actor: access.actor, slug });
  } catch (error) {
    if (isAppError(error) && (error.code === 'not_found' || error.code === 'bad_input'))
      return <ReviewUnavailable message={error.message} />;
    throw error;
  }
  const { catalogue, choices } = picked;
  return (
    <main className="mx-auto max-w-6xl p-4 sm:p-6">
      {/* Keyed by catalogue: switching gives the old items back and claims afresh. */}
      <FocusReview
        key={catalogue.slug}
        catalogue={{
          slug: catalogue.slug,
          name: catalogue.name,
          classNames: catalogue.classNames,
          classKeys: classKeysOf(catalogue),
        }}
        choices={choices}
        keysHref={
          can(access.actor.role, 'settings.write')
            ? `/review/keys?catalogue=${encodeURIComponent(catalogue.slug)}`
            : undefined
        }
      />
    </main>
  );
}
