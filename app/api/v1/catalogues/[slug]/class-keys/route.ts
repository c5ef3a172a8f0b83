import { getDb } from '@/db/client';
import { apiRoute, parseJsonBody } from '@/lib/http/api-route';
import { requireCatalogue } from '@/lib/catalogues';
import { ClassKeysInput, classKeysOf, setClassKeys } from '@/lib/review/class-keys';

export const dynamic = 'force-dynamic';

/** The keys the review pages use for this catalogue's classes, one per class (null: none). */
export const GET = apiRoute<{ slug: string }>('items.review', async ({ params }) => {
  const catalogue = await requireCatalogue(getDb(), params.slug);
  return { classNames: catalogue.classNames, keys: classKeysOf(catalogue), custom: catalogue.classKeys !== null };
});

/** `{keys: [...]}` sets one key (or null) per class; `{keys: null}` goes back to the default. Admins only. */
export const PUT = apiRoute<{ slug: string }>('settings.write', async ({ actor, request, params }) => {
  const db = getDb();
  const catalogue = await requireCatalogue(db, params.slug);
  const { keys } = await parseJsonBody(request, ClassKeysInput);
  return { keys: await setClassKeys(db, { actor, catalogueId: catalogue.id, keys }), custom: keys !== null };
});
