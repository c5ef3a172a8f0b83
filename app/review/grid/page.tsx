import { getDb } from '@/db/client';
import { isAppError } from '@/lib/errors';
import { requirePageAccess } from '@/lib/http/page-auth';
import { classKeysOf } from '@/lib/review/class-keys';
import {
  countQueueByClass,
  pickReviewCatalogue,
  type ClassQueueCount,
  type ReviewCatalogue,
} from '@/lib/review/overview';
import { GridReview } from '../_components/grid-review';
import { ReviewUnavailable } from '../_components/review-unavailable';

export const dynamic = 'force-dynamic';

export default async function GridReviewPage({
  searchParams,
}: {
  searchParams: Promise<{ catalogue?: string | string[] }>;
}) {
  const { catalogue: param } = await searchParams;
  const slug = typeof param === 'string' ? param : undefined;
  const access = await requirePageAccess(
    'items.review',
    slug ? `/review/grid?catalogue=${encodeURIComponent(slug)}` : '/review/grid',
  );
  let picked: ReviewCatalogue;
  let counts: ClassQueueCount[];
  try {
    picked = await pickReviewCatalogue(getDb(), { actor: access.actor, slug });
    counts = await countQueueByClass(getDb(), { actor: access.actor, catalogueId: picked.catalogue.id });
  } catch (error) {
    if (isAppError(error) && (error.code === 'not_found' || error.code === 'bad_input'))
      return <ReviewUnavailable message={error.message} />;
    throw error;
  }
  const { catalogue, choices } = picked;
  return (
    <main className="mx-auto max-w-6xl p-4 sm:p-6">
      <GridReview
        key={catalogue.slug}
        catalogue={{
          slug: catalogue.slug,
          name: catalogue.name,
          classNames: catalogue.classNames,
          classKeys: classKeysOf(catalogue),
        }}
        choices={choices}
        counts={counts}
      />
    </main>
  );
}
