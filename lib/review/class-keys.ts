import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, withTransaction } from '@/db/client';
import { catalogues, settingsChanges, type Catalogue } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';
import { requireCatalogueById } from '@/lib/catalogues';

/**
 * The key that picks each class on the review pages. A catalogue may store its own map
 * (`catalogues.class_keys`, set by an admin); without one, `defaultClassKeys` applies. Keys are
 * single characters, compared in lower case, so `A` and `a` are one key.
 */

/**
 * Single-character keys the review pages use for something else (the multi-character ones,
 * Enter, Backspace, Escape, the arrows, are not single characters and cannot clash).
 */
export const RESERVED_KEYS: Readonly<Record<string, string>> = {
  s: 'Skip',
  u: 'Unsure',
  z: 'Undo',
  c: 'the contrast toggle',
  m: 'the zoom toggle',
  '?': 'the shortcut list',
  ' ': 'marking a grid cell',
};

/** What a class key may be: one letter, digit or unshifted punctuation mark (one keystroke on most layouts). */
const KEY_PATTERN = /^[a-z0-9\-=[\];',./`\\]$/;

const DEFAULT_LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('').filter((key) => !(key in RESERVED_KEYS));

/**
 * 1-9 then 0 for the first ten classes (the long-standing keys), then the letters not reserved,
 * in order (a, b, d, e, ...): 31 classes get a key, any after that none.
 */
export function defaultClassKeys(classCount: number): (string | null)[] {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', ...DEFAULT_LETTERS];
  return Array.from({ length: classCount }, (_, index) => keys[index] ?? null);
}

/** The keys the review pages use for this catalogue: its own map, else the default. */
export function classKeysOf(catalogue: Pick<Catalogue, 'classNames' | 'classKeys'>): (string | null)[] {
  const stored = catalogue.classKeys;
  // A stored map always has one entry per class (setClassKeys); anything else reads as unset.
  if (stored && stored.length === catalogue.classNames.length) return stored;
  return defaultClassKeys(catalogue.classNames.length);
}

/** `keys: null` goes back to the default map. */
export const ClassKeysInput = z.object({
  keys: z.array(z.string().nullable(), { error: 'keys is a list with one key (or null) per class' }).nullable(),
});
export type ClassKeysInput = z.infer<typeof ClassKeysInput>;

/**
 * Checks a proposed map against the catalogue's classes and returns it normalised (lower case;
 * an empty string means no key). Throws bad_input with a sentence naming the class at fault.
 */
export function validateClassKeys(classNames: readonly string[], keys: readonly (string | null)[]): (string | null)[] {
  if (keys.length !== classNames.length)
    throw new AppError(
      'bad_input',
      `This catalogue has ${classNames.length} classes and ${keys.length} keys were sent: send one key (or none) per class, in class order.`,
    );
  const owner = new Map<string, string>();
  return keys.map((raw, index) => {
    const className = classNames[index] ?? `class ${index}`;
    if (raw === null || raw === '') return null;
    const key = raw.length === 1 ? raw.toLowerCase() : raw;
    const reserved = RESERVED_KEYS[key];
    if (reserved !== undefined)
      throw new AppError(
        'bad_input',
        `The key "${key === ' ' ? 'Space' : key}" for ${className} is taken by ${reserved}; choose another key.`,
      );
    if (!KEY_PATTERN.test(key))
      throw new AppError(
        'bad_input',
        `The key "${raw}" for ${className} is not a single letter, digit or punctuation mark; choose one key.`,
      );
    const other = owner.get(key);
    if (other !== undefined)
      throw new AppError('bad_input', `${other} and ${className} both use the key "${key}"; each key picks one class.`);
    owner.set(key, className);
    return key;
  });
}

/**
 * Sets (or, with `keys: null`, resets) a catalogue's class keys: admins only (`settings.write`),
 * recorded in the settings history like any other catalogue setting. Returns the keys now in use.
 */
export async function setClassKeys(
  db: Db,
  input: { actor: Actor | null; catalogueId: number; keys: (string | null)[] | null; now?: number },
): Promise<(string | null)[]> {
  const actor = requirePermission(input.actor, 'settings.write');
  const { keys } = parseInput(ClassKeysInput, { keys: input.keys });
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      const catalogue = await requireCatalogueById(tx, input.catalogueId);
      const next = keys === null ? null : validateClassKeys(catalogue.classNames, keys);
      const before = catalogue.classKeys ?? null;
      if (JSON.stringify(before) !== JSON.stringify(next)) {
        await tx.update(catalogues).set({ classKeys: next }).where(eq(catalogues.id, catalogue.id));
        await tx.insert(settingsChanges).values({
          catalogueId: catalogue.id,
          userId: actor.userId,
          field: 'classKeys',
          oldValue: JSON.stringify(before),
          newValue: JSON.stringify(next),
          createdAt: now,
        });
      }
      return classKeysOf({ classNames: catalogue.classNames, classKeys: next });
    },
    { behavior: 'immediate' },
  );
}
