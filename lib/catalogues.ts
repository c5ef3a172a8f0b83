import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, withTransaction, firstRow, onlyRow } from '@/db/client';
import { preparedPerHandle } from '@/db/prepared';
import { catalogues, settings, type Catalogue } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';

export const EnsureCatalogueInput = z.object({
  slug: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,62}$/,
      'a catalogue slug is lower-case letters, digits and dashes (e.g. fashion-mnist)',
    ),
  name: z.string().trim().min(1).max(200),
  // Labels are stored as one byte in imports and as an index into this list everywhere else.
  classNames: z
    .array(z.string().trim().min(1).max(100))
    .min(2, 'a catalogue needs at least 2 classes')
    .max(256, 'a catalogue may have at most 256 classes')
    .refine((names) => new Set(names).size === names.length, 'class names must be unique'),
});
export type EnsureCatalogueInput = z.infer<typeof EnsureCatalogueInput>;

// Every review request reads its catalogue: prepared once per handle (db/prepared.ts).
const byKey = preparedPerHandle((db: Reader) => ({
  slug: db
    .select()
    .from(catalogues)
    .where(eq(catalogues.slug, sql.placeholder('slug')))
    .prepare(),
  id: db
    .select()
    .from(catalogues)
    .where(eq(catalogues.id, sql.placeholder('id')))
    .prepare(),
}));

export async function findCatalogue(db: Db, slug: string): Promise<Catalogue | undefined> {
  return await byKey(db).slug.execute({ slug }).then(firstRow);
}

export async function requireCatalogue(db: Db, slug: string): Promise<Catalogue> {
  const catalogue = await findCatalogue(db, slug);
  if (!catalogue) throw new AppError('not_found', `There is no catalogue "${slug}".`);
  return catalogue;
}

/** The catalogue with this id; `not_found` when there is none. A transaction may pass itself. */
export async function requireCatalogueById(db: Reader, catalogueId: number): Promise<Catalogue> {
  const catalogue = await byKey(db).id.execute({ id: catalogueId }).then(firstRow);
  if (!catalogue) throw new AppError('not_found', `There is no catalogue ${catalogueId}.`);
  return catalogue;
}

/**
 * Returns the catalogue with this slug, creating it (with default settings) if absent.
 * An existing catalogue with a different class list is a conflict, never silently changed:
 * every stored label is an index into that list.
 */
export async function ensureCatalogue(db: Db, input: EnsureCatalogueInput): Promise<Catalogue> {
  const { slug, name, classNames } = parseInput(EnsureCatalogueInput, input);
  return await withTransaction(
    db,
    async (tx) => {
      const existing = await tx.select().from(catalogues).where(eq(catalogues.slug, slug)).limit(1).then(firstRow);
      if (existing) {
        if (JSON.stringify(existing.classNames) !== JSON.stringify(classNames)) {
          throw new AppError(
            'conflict',
            `Catalogue "${slug}" already exists with classes ${existing.classNames.join(', ')}; its class list cannot change.`,
          );
        }
        return existing;
      }
      const created = await tx.insert(catalogues).values({ slug, name, classNames }).returning().then(onlyRow);
      await tx.insert(settings).values({ catalogueId: created.id });
      return created;
    },
    { behavior: 'immediate' },
  );
}
