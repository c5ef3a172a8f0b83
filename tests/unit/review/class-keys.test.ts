import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogues, settingsChanges } from '@/db/schema';
import { classKeysOf, defaultClassKeys, RESERVED_KEYS, setClassKeys, validateClassKeys } from '@/lib/review/class-keys';
import { CLASSES, expectAppError, makeFixture, tempDir } from './fixtures';
import { firstRow } from '@/db/client';

const tmp = tempDir('loupe-class-keys-');
afterAll(tmp.cleanup);

describe('defaultClassKeys', () => {
  it('keeps 1-9 and 0 for the first ten classes', () => {
    expect(defaultClassKeys(10)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '0']);
    expect(defaultClassKeys(3)).toEqual(['1', '2', '3']);
  });

  it('goes on with the letters no other shortcut uses, then no key', () => {
    const keys = defaultClassKeys(40);
    expect(keys.slice(10, 14)).toEqual(['a', 'b', 'd', 'e']);
    expect(keys.filter((key) => key !== null)).toHaveLength(31);
    expect(keys.slice(31)).toEqual(new Array(9).fill(null));
    for (const key of keys) if (key !== null) expect(RESERVED_KEYS[key]).toBeUndefined();
    // The default passes its own validation: unique, none reserved.
    const names = keys.map((_, i) => `class ${i}`);
    expect(validateClassKeys(names, keys)).toEqual(keys);
  });
});

describe('validateClassKeys', () => {
  const names = ['Shirt', 'Coat', 'Bag'];

  it('lower-cases letters and reads an empty box as no key', () => {
    expect(validateClassKeys(names, ['Q', '', null])).toEqual(['q', null, null]);
  });

  it('refuses a key another shortcut uses, naming the class and the shortcut', () => {
    expect(() => validateClassKeys(names, ['1', 'S', '3'])).toThrow(/"s" for Coat is taken by Skip/);
    expect(() => validateClassKeys(names, ['?', '2', '3'])).toThrow(/for Shirt is taken by the shortcut list/);
    expect(() => validateClassKeys(names, [' ', '2', '3'])).toThrow(/"Space" for Shirt/);
  });

  it('refuses the same key twice, in either case', () => {
    expect(() => validateClassKeys(names, ['a', 'b', 'A'])).toThrow('Shirt and Bag both use the key "a"');
  });

  it('refuses what is not one keystroke, and a list of the wrong length', () => {
    expect(() => validateClassKeys(names, ['ab', '2', '3'])).toThrow(/"ab" for Shirt is not a single letter/);
    expect(() => validateClassKeys(names, ['!', '2', '3'])).toThrow(/"!" for Shirt/);
    expect(() => validateClassKeys(names, ['1', '2'])).toThrow(/3 classes and 2 keys were sent/);
  });
});

describe('setClassKeys', () => {
  it('lets an admin set and reset the keys, recorded in the settings history', async () => {
    const f = await makeFixture(tmp.dir, []);
    const keys = ['q', 'w', 'e', 'r', 't'];
    expect(CLASSES).toHaveLength(5);
    expect(
      await setClassKeys(f.db, { actor: f.admin, catalogueId: f.catalogueId, keys: ['Q', 'w', 'e', 'r', 't'] }),
    ).toEqual(keys);
    const row = (await f.db.select().from(catalogues).where(eq(catalogues.id, f.catalogueId)).limit(1).then(firstRow))!;
    expect(row.classKeys).toEqual(keys);
    expect(classKeysOf(row)).toEqual(keys);
    // Saving the same map again writes no history row.
    await setClassKeys(f.db, { actor: f.admin, catalogueId: f.catalogueId, keys });
    expect(await setClassKeys(f.db, { actor: f.admin, catalogueId: f.catalogueId, keys: null })).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
    ]);
    const history = await f.db
      .select({ field: settingsChanges.field, userId: settingsChanges.userId, newValue: settingsChanges.newValue })
      .from(settingsChanges)
      .where(eq(settingsChanges.field, 'classKeys'));
    expect(history).toEqual([
      { field: 'classKeys', userId: f.admin.userId, newValue: JSON.stringify(keys) },
      { field: 'classKeys', userId: f.admin.userId, newValue: 'null' },
    ]);
  });

  it('refuses reviewers, ops and the signed-out, and writes nothing on bad input', async () => {
    const f = await makeFixture(tmp.dir, []);
    const keys = ['q', 'w', 'e', 'r', 't'];
    await expectAppError(
      async () => await setClassKeys(f.db, { actor: f.reviewer, catalogueId: f.catalogueId, keys }),
      'forbidden',
    );
    await expectAppError(
      async () => await setClassKeys(f.db, { actor: f.ops, catalogueId: f.catalogueId, keys }),
      'forbidden',
    );
    await expectAppError(
      async () => await setClassKeys(f.db, { actor: null, catalogueId: f.catalogueId, keys }),
      'unauthorized',
    );
    await expectAppError(
      async () =>
        await setClassKeys(f.db, { actor: f.admin, catalogueId: f.catalogueId, keys: ['q', 'q', 'e', 'r', 't'] }),
      'bad_input',
      /zero and one both use the key "q"/,
    );
    await expectAppError(async () => await setClassKeys(f.db, { actor: f.admin, catalogueId: 999, keys }), 'not_found');
    const row = (await f.db.select().from(catalogues).where(eq(catalogues.id, f.catalogueId)).limit(1).then(firstRow))!;
    expect(row.classKeys).toBeNull();
    expect(await f.db.select().from(settingsChanges).where(eq(settingsChanges.field, 'classKeys'))).toEqual([]);
  });
});
