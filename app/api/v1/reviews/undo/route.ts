import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { undoAndReclaim } from '@/lib/review/grid-and-undo';

export const dynamic = 'force-dynamic';

const UndoBody = z.object({ clientId: z.string() });

/**
 * Undoes the reviewer's last confirm/correct and answers with the item, held again for them
 * (`item: null` if a late retry finds the hold gone). 404 when there is nothing to undo.
 */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const { clientId } = await parseJsonBody(request, UndoBody);
  return await undoAndReclaim(getDb(), { actor, clientId });
});
