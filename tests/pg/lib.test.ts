/** lib's functions on PostgreSQL, through the same code as on SQLite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserAsSystem } from '@/lib/auth/users';
import { ensureCatalogue, findCatalogue } from '@/lib/catalogues';
import { enqueueJob } from '@/lib/jobs/lifecycle';
import { freshPgDb, type PgTestDb } from './pg-db';

let t: PgTestDb;
beforeAll(async () => {
  t = await freshPgDb();
});
afterAll(async () => {
  await t.drop();
});

describe('lib on PostgreSQL', () => {
  it('creates a catalogue once, finds it, and refuses a different class list', async () => {
    const created = await ensureCatalogue(t.db, { slug: 'fashion', name: 'Fashion', classNames: ['a', 'b'] });
    expect(await findCatalogue(t.db, 'fashion')).toEqual(created);
    await expect(ensureCatalogue(t.db, { slug: 'fashion', name: 'F', classNames: ['x', 'y'] })).rejects.toThrow(
      /cannot change/,
    );
  });

  it('a second user with the same email is a conflict with a sentence, not a crash', async () => {
    const input = {
      email: 'ada@example.com',
      name: 'Ada',
      role: 'admin' as const,
      password: 'a long password',
      passwordCost: 4,
    };
    await createUserAsSystem(t.db, input);
    await expect(createUserAsSystem(t.db, input)).rejects.toMatchObject({
      code: 'conflict',
      message: 'A user with the email ada@example.com already exists.',
    });
  });

  it('twenty racing enqueues of an exclusive job create it once (the JSON payload read in SQL)', async () => {
    const enqueue = () => enqueueJob(t.db, { kind: 'train', payload: { catalogueId: 7 }, exclusivePerCatalogue: true });
    const results = await Promise.all(Array.from({ length: 20 }, enqueue));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
  });
});
