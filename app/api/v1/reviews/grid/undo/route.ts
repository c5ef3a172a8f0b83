import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { undoGridSubmit, UndoGridInput } from '@/lib/review/grid-undo';

export const dynamic = 'force-dynamic';

/**
 * Undoes a whole grid submit, named by its decisions' client ids: all or nothing (lib/review/grid-undo.ts).
 * The items come back in the queue held by the reviewer; 409 with the reason when something built on them.
 */
export const POST = apiRoute('items.review', async ({ actor, request }) => {
  const { clientIds } = await parseJsonBody(request, UndoGridInput);
  return await undoGridSubmit(getDb(), { actor, clientIds });
});
