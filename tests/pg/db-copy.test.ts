/** `npm run db:copy`: a SQLite Loupe database moved into PostgreSQL, row for row, and usable there. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogues, queueCounts, users } from '@/db/schema';
import { createUserAsSystem } from '@/lib/auth/users';
import { claimNext } from '@/lib/review/queue';
import { submitReview } from '@/lib/review/decisions';
import { freshPgDb, type PgTestDb } from './pg-db';

let t: PgTestDb;
let dir: string;
let source: string;

function tsx(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...process.env, LOUPE_DATABASE_URL: '', DATABASE_URL: '', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

beforeAll(async () => {
  t = await freshPgDb();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-copy-'));
  const made = tsx(['tests/fixtures/sqlite-source.ts', path.join(dir, 'source.db')]);
  if (made.status !== 0) throw new Error(`the SQLite source could not be made:\n${made.stderr}`);
  source = made.stdout.trim().split('\n').at(-1)!;
}, 180_000);
afterAll(async () => {
  await t.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every row of every table, in primary-key order, as plain values. */
async function pgTables(url: string, names: string[]): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const name of names) out[name] = (await client.query(`select * from "${name}" order by 1, 2`)).rows;
    return out;
  } finally {
    await client.end();
  }
}

describe('npm run db:copy', () => {
  it('copies every table row for row, then Loupe works on the copy', { timeout: 180_000 }, async () => {
    const run = tsx(['scripts/db-copy.ts', '--from', source, '--to', t.url]);
    expect(run.stderr).not.toContain('error');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/every table's row count matches/);

    const sqlite = new Database(source, { readonly: true });
    const names = (
      sqlite
        .prepare(
          `select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '%drizzle%'`,
        )
        .all() as { name: string }[]
    ).map((r) => r.name);
    const copied = await pgTables(t.url, names);
    for (const name of names) {
      const rows = sqlite.prepare(`select * from "${name}" order by 1, 2`).all();
      expect(copied[name], name).toEqual(rows);
    }
    expect((copied.reviews ?? []).length).toBe(7);
    expect((copied.leases ?? []).length).toBeGreaterThan(0);
    sqlite.close();

    // The copy is a working database: new rows get fresh ids, the triggers keep the counts.
    const user = await createUserAsSystem(t.db, {
      email: 'new@example.test',
      name: 'New',
      password: 'correct horse battery',
      role: 'reviewer',
      passwordCost: 4,
    });
    expect(user.id).toBeGreaterThan(Math.max(...(copied.users as { id: number }[]).map((u) => u.id)));
    const [catalogue] = await t.db.select().from(catalogues);
    const before = (await t.db.select().from(queueCounts).where(eq(queueCounts.catalogueId, catalogue!.id)))[0]!;
    const actor = { userId: user.id, role: user.role, email: user.email };
    const item = (await claimNext(t.db, { actor, catalogueId: catalogue!.id }))!;
    await submitReview(t.db, {
      actor,
      itemId: item.itemId,
      action: 'confirm',
      clientId: 'after-copy',
      durationMs: 900,
    });
    const after = (await t.db.select().from(queueCounts).where(eq(queueCounts.catalogueId, catalogue!.id)))[0]!;
    expect(after.waiting).toBe(before.waiting - 1);
  });

  it(
    'refuses a database that already has rows, with a sentence, and changes nothing',
    { timeout: 120_000 },
    async () => {
      const before = await t.db.select().from(users);
      const run = tsx(['scripts/db-copy.ts', '--from', source, '--to', t.url]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('error: The PostgreSQL database already has rows in');
      expect(await t.db.select().from(users)).toEqual(before);
    },
  );

  it('refuses a missing file and a URL that is not PostgreSQL', () => {
    const missing = tsx(['scripts/db-copy.ts', '--from', path.join(dir, 'nope.db'), '--to', t.url]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('There is no SQLite file at');
    const wrong = tsx(['scripts/db-copy.ts', '--from', source, '--to', 'mysql://x']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('--to: a PostgreSQL URL starts with postgres://');
  });
});
