import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { recordReview, SubmitReviewInput } from '@/lib/review/decisions';

export const dynamic = 'force-dynamic';

/**
 * One decision from the focus view. Idempotent on `clientId`: a retry answers the first
 * result with `replayed: true`. 409 when the reviewer's hold on the item has lapsed.
 */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const body = await parseJsonBody(request, SubmitReviewInput);
  const { review, replayed } = recordReview(getDb(), { actor, review: body });
  return {
    review: {
      id: review.id,
      itemId: review.itemId,
      action: review.action,
      modelLabel: review.modelLabel,
      chosenLabel: review.chosenLabel,
      durationMs: review.durationMs,
      clientId: review.clientId,
      createdAt: review.createdAt,
    },
    replayed,
  };
});
