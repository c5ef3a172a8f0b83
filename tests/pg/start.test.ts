/**
 * `npm start` on PostgreSQL: its preparation (migrate, seed both demo catalogues and the demo
 * users, score) run as the start script runs it, in a child process, then the demo used
 * through lib as the web app uses it: a claim, a decision, the dashboards.
 */
import { spawnSync } from 'node:child_process';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogues, items, reviews, users } from '@/db/schema';
import { readDashboard } from '@/lib/dashboards';
import { claimNext } from '@/lib/review/queue';
import { submitReview } from '@/lib/review/decisions';
import { DEMO_USERS } from '@/lib/seed';
import { freshPgDb, type PgTestDb } from './pg-db';

let t: PgTestDb;
beforeAll(async () => {
  t = await freshPgDb();
});
afterAll(async () => {
  await t.drop();
});

function seed() {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts'], {
    env: { ...process.env, LOUPE_DATABASE_URL: t.url, DATABASE_URL: '' },
    encoding: 'utf8',
    timeout: 240_000,
  });
}

describe('npm start on PostgreSQL', () => {
  it('migrates, seeds the demo catalogues and users, and scores them', { timeout: 300_000 }, async () => {
    const run = seed();
    expect(run.stderr).not.toMatch(/error|warning/i);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('[seed] database PostgreSQL');
    expect(run.stdout).not.toContain(new URL(t.url).password || '\u0000');
    expect((await t.db.select().from(catalogues)).map((c) => c.slug).sort()).toEqual(['fashion-mnist', 'mnist-digits']);
    const [fashion] = await t.db.select().from(catalogues).where(eq(catalogues.slug, 'fashion-mnist'));
    const byStatus = await t.db
      .select({ status: items.status, n: count() })
      .from(items)
      .where(eq(items.catalogueId, fashion!.id))
      .groupBy(items.status);
    const n = Object.fromEntries(byStatus.map((r) => [r.status, r.n]));
    // 10,000 scored demo items and 5,000 holdout items (reviewed as imported); nothing left unscored.
    expect(n.unscored ?? 0).toBe(0);
    expect((n.auto_accepted ?? 0) + (n.needs_review ?? 0) + (n.reviewed ?? 0)).toBe(15_000);
    expect(n.needs_review).toBeGreaterThan(500);
    expect((await t.db.select().from(users)).map((u) => u.email).sort()).toEqual(DEMO_USERS.map((u) => u.email).sort());
  });

  it('a second start changes nothing', { timeout: 300_000 }, async () => {
    const before = await t.db.select({ n: count() }).from(items);
    const run = seed();
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('seeded');
    expect(await t.db.select({ n: count() }).from(items)).toEqual(before);
  });

  it('serves the demo: the reviewer claims and decides, ops read the dashboards', async () => {
    const [fashion] = await t.db.select().from(catalogues).where(eq(catalogues.slug, 'fashion-mnist'));
    const userOf = async (email: string) => {
      const [user] = await t.db.select().from(users).where(eq(users.email, email));
      return { userId: user!.id, role: user!.role, email };
    };
    const reviewer = await userOf('reviewer@loupe.demo');
    const item = await claimNext(t.db, { actor: reviewer, catalogueId: fashion!.id });
    expect(item).not.toBeNull();
    const result = await submitReview(t.db, {
      actor: reviewer,
      itemId: item!.itemId,
      action: 'correct',
      label: (item!.predictedClass! + 1) % 10,
      clientId: 'pg-start-0001',
      durationMs: 2000,
    });
    expect(result.replayed).toBe(false);
    const [row] = await t.db
      .select({ n: count() })
      .from(reviews)
      .where(and(eq(reviews.itemId, item!.itemId), eq(reviews.reviewerId, reviewer.userId)));
    expect(row!.n).toBe(1);
    const dashboard = await readDashboard(t.db, { actor: await userOf('ops@loupe.demo'), catalogue: 'fashion-mnist' });
    expect(dashboard.figures['queue-now'].rows[0]).toMatchObject({ waiting: expect.any(Number) });
    expect(dashboard.figures.overrides.rows.reduce((sum, r) => sum + Number(r.overridden), 0)).toBe(1);
  });
});
