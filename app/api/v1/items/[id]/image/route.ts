import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { renderItemPng } from '@/lib/catalogue/item-image';

export const dynamic = 'force-dynamic';

const Params = z.object({ id: z.coerce.number().int().positive('the item id is a positive whole number') });

export const GET = apiRoute<{ id: string }>('catalogue.read', async ({ actor, params }) => {
  const { id } = Params.parse(params);
  const png = await renderItemPng(getDb(), { actor, itemId: id });
  // An item's pixels never change, so browsers may keep the image for the session.
  return new Response(new Uint8Array(png), {
    headers: { 'content-type': 'image/png', 'cache-control': 'private, max-age=86400, immutable' },
  });
});
