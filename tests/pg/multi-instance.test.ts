/**
 * Two web servers and two workers on one PostgreSQL database (issue 20): 50 reviewers whose
 * requests go to either server in turn, as behind a load balancer, for 60 s, while an admin
 * trains a candidate and it is promoted and the catalogue re-scored. What must hold: no item
 * served to two reviewers, no acknowledged decision lost, every job run once, and one active
 * model per catalogue at every moment (sampled every 50 ms).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogues, jobs, modelVersions, reviews } from '@/db/schema';
import { createUserAsSystem } from '@/lib/auth/users';
import type { ClaimedItem } from '@/lib/review/queue';
import { ensureWebBuild } from '@/scripts/lib/web-build';
import { LoupeApiError, LoupeClient } from '@/scripts/sim/http-client';
import { launchLoupe, type LaunchedLoupe } from '@/scripts/sim/launch';
import { E2E } from '../e2e/e2e-env';
import { freshPgDb, type PgTestDb } from './pg-db';

const REVIEWERS = 50;
const RUN_MS = 60_000;
/** How long a reviewer looks at an item: enough for 50 of them to keep two servers busy, not swamp them. */
const THINK_MS = 100;
const PASSWORD = 'multi-instance-password';
const root = path.resolve(import.meta.dirname, '..', '..');

let t: PgTestDb;
let dir: string;
const loupes: LaunchedLoupe[] = [];

beforeAll(async () => {
  t = await freshPgDb();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-multi-'));
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts'], {
    env: { ...process.env, LOUPE_DATABASE_URL: t.url, DATABASE_URL: '' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (seeded.status !== 0) throw new Error(`seeding failed:\n${seeded.stderr}`);
  for (let i = 0; i < REVIEWERS; i++)
    await createUserAsSystem(t.db, {
      email: `reviewer-${i}@multi.test`,
      name: `Reviewer ${i}`,
      password: PASSWORD,
      role: 'reviewer',
      passwordCost: 4,
    });
  // The build the end-to-end suite made (CI runs it first); built here when missing or stale.
  ensureWebBuild({ root, distDir: E2E.distDir, env: process.env, log: console.log, stdio: 'stderr' });
  const env = {
    LOUPE_DATABASE_URL: t.url,
    NEXTAUTH_SECRET: 'a-secret-the-servers-share-32-characters-long',
    LOUPE_RETRAIN_EPOCHS: '1',
  };
  // One after the other: two builds' first requests at once on two cores only slow both.
  for (let i = 0; i < 2; i++)
    loupes.push(
      await launchLoupe({
        root,
        distDir: E2E.distDir,
        // Unused on PostgreSQL except as the folder beside which nothing is written: both get the same.
        dbPath: path.join(dir, 'unused.db'),
        modelsDir: path.join(dir, 'models'),
        env,
        log: () => {},
      }),
    );
}, 600_000);

afterAll(async () => {
  await Promise.all(loupes.map((l) => l.stop()));
  await t?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

describe('two web servers and two workers on one PostgreSQL database', () => {
  it(
    '50 reviewers, a training and a re-score: nothing served twice, nothing lost, each job once, one active model',
    { timeout: 900_000 },
    async () => {
      const [fashion] = await t.db.select().from(catalogues).where(eq(catalogues.slug, 'fashion-mnist'));
      const catalogueId = fashion!.id;
      const servers = loupes.map((l) => l.baseUrl);

      // Most of the catalogue into the queue, so 60 s of reviewing does not drain it.
      const admin = new LoupeClient(servers[0]!);
      await admin.signIn('admin@loupe.demo', 'admin-demo-password');
      await admin.put('/api/v1/catalogues/fashion-mnist/threshold', { threshold: 0.999 });

      // One active model per catalogue, sampled from the database every 50 ms throughout.
      const activeCounts: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const [row] = await t.db
            .select({ n: sql<number>`count(*)` })
            .from(modelVersions)
            .where(and(eq(modelVersions.catalogueId, catalogueId), eq(modelVersions.status, 'active')));
          activeCounts.push(Number(row!.n));
          await sleep(50);
        }
      })();

      const servedTo = new Map<number, Set<number>>();
      const acknowledged: { clientId: string; itemId: number; reviewer: number }[] = [];
      const errors: string[] = [];
      const claimMs: number[] = [];
      const submitMs: number[] = [];
      const perServer = servers.map(() => 0);
      let stop = false;
      let lostHolds = 0;

      const reviewer = async (index: number) => {
        const first = new LoupeClient(servers[index % 2]!);
        await first.signIn(`reviewer-${index}@multi.test`, PASSWORD);
        // Every request to the next server in turn: no stickiness, as a plain round-robin balancer.
        const clients = servers.map((url) => first.sameSessionOn(url));
        let turn = index;
        const next = () => {
          const i = turn++ % clients.length;
          return { client: clients[i]!, i };
        };
        while (!stop) {
          let item: ClaimedItem | null;
          try {
            const { client, i } = next();
            const t0 = performance.now();
            item = (
              await client.post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', { catalogue: 'fashion-mnist' })
            ).item;
            claimMs.push(performance.now() - t0);
            perServer[i]! += 1;
          } catch (error) {
            errors.push(`claim: ${error instanceof Error ? error.message : String(error)}`);
            await sleep(200);
            continue;
          }
          if (!item) {
            await sleep(200);
            continue;
          }
          const holders = servedTo.get(item.itemId) ?? new Set<number>();
          holders.add(index);
          servedTo.set(item.itemId, holders);
          await sleep(THINK_MS);
          const clientId = randomUUID();
          // Right after a promotion an item may have no answer from the new model until the
          // re-score reaches it: the reviewer picks a class, as on the review page.
          const modelSays = item.modelVersionId === null ? null : item.predictedClass;
          const correct = modelSays === null || item.itemId % 5 === 0;
          try {
            const { client, i } = next();
            const t0 = performance.now();
            await client.post('/api/v1/reviews', {
              itemId: item.itemId,
              action: correct ? 'correct' : 'confirm',
              label: correct ? ((modelSays ?? item.itemId) + 1) % 10 : undefined,
              clientId,
              durationMs: THINK_MS,
              modelVersionId: item.modelVersionId ?? undefined,
            });
            submitMs.push(performance.now() - t0);
            perServer[i]! += 1;
            acknowledged.push({ clientId, itemId: item.itemId, reviewer: index });
          } catch (error) {
            // A re-score that takes an item out of the queue under its holder answers 409: not a loss.
            if (error instanceof LoupeApiError && error.status === 409) lostHolds++;
            else errors.push(`submit: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      };

      const started = performance.now();
      const running = Array.from({ length: REVIEWERS }, (_, i) => reviewer(i));

      // A training once there are decisions to learn from, through the second server; its
      // candidate promoted (by the gate, or by the admin overriding it), which queues the re-score.
      await sleep(15_000);
      const adminB = admin.sameSessionOn(servers[1]!);
      const train = await adminB.post<{ job: { id: number } }>('/api/v1/catalogues/fashion-mnist/train', {});
      const waitForJob = async (id: number) => {
        for (;;) {
          const [job] = await t.db.select().from(jobs).where(eq(jobs.id, id));
          if (job!.status === 'succeeded' || job!.status === 'failed') return job!;
          await sleep(500);
        }
      };
      const trained = await waitForJob(train.job.id);
      expect(trained.status, trained.error ?? '').toBe('succeeded');
      const [candidate] = await t.db
        .select()
        .from(modelVersions)
        .where(eq(modelVersions.catalogueId, catalogueId))
        .orderBy(sql`${modelVersions.id} desc`)
        .limit(1);
      let rescoreJobId: number;
      if (candidate!.status === 'active') {
        const [rescore] = await t.db
          .select()
          .from(jobs)
          .where(eq(jobs.kind, 'score'))
          .orderBy(sql`${jobs.id} desc`)
          .limit(1);
        rescoreJobId = rescore!.id;
      } else {
        const promoted = await admin.post<{ rescoreJob: { id: number } | null }>(
          `/api/v1/models/${candidate!.id}/promote`,
          {},
        );
        rescoreJobId = promoted.rescoreJob!.id;
      }
      const rescored = await waitForJob(rescoreJobId);
      expect(rescored.status, rescored.error ?? '').toBe('succeeded');

      // At least 60 s of reviewing, the re-score included.
      const left = RUN_MS - (performance.now() - started);
      if (left > 0) await sleep(left);
      stop = true;
      await Promise.all(running);
      const seconds = (performance.now() - started) / 1000;
      // The workers may have queued more trainings on the new labels meanwhile: let them end.
      for (let waited = 0; ; waited += 500) {
        const open = await t.db
          .select({ id: jobs.id })
          .from(jobs)
          .where(sql`${jobs.status} in ('queued', 'running')`);
        if (open.length === 0) break;
        if (waited > 300_000) throw new Error(`jobs still open after 5 min: ${open.map((j) => j.id).join(', ')}`);
        await sleep(500);
      }
      sampling = false;
      await sampler;

      const twice = [...servedTo].filter(([, holders]) => holders.size > 1);
      const stored = new Set((await t.db.select({ clientId: reviews.clientId }).from(reviews)).map((r) => r.clientId));
      const lost = acknowledged.filter((a) => !stored.has(a.clientId));
      const allJobs = await t.db.select().from(jobs);
      const report = {
        servers: 2,
        workers: 2,
        reviewers: REVIEWERS,
        seconds: Number(seconds.toFixed(1)),
        decisions: acknowledged.length,
        decisionsPerSecond: Number((acknowledged.length / seconds).toFixed(1)),
        requestsPerServer: perServer,
        claimMsP50: Number(percentile(claimMs, 50).toFixed(1)),
        claimMsP99: Number(percentile(claimMs, 99).toFixed(1)),
        submitMsP50: Number(percentile(submitMs, 50).toFixed(1)),
        submitMsP99: Number(percentile(submitMs, 99).toFixed(1)),
        lostHolds,
        errors: errors.length,
        jobs: allJobs.map((j) => `${j.kind}:${j.status}:attempts ${j.attempts}`),
        activeSamples: activeCounts.length,
      };
      console.log(`[multi-instance] ${JSON.stringify(report)}`);

      expect(errors.slice(0, 5)).toEqual([]);
      expect(acknowledged.length).toBeGreaterThan(1000);
      expect(perServer.every((n) => n > 0)).toBe(true);
      expect(twice).toEqual([]);
      expect(lost).toEqual([]);
      expect(allJobs.map((j) => j.kind).sort()).toEqual(expect.arrayContaining(['score', 'train']));
      for (const job of allJobs) {
        expect(job.status, `job ${job.id} (${job.kind})`).toBe('succeeded');
        expect(job.attempts, `job ${job.id} (${job.kind})`).toBe(1);
        expect(job.leaseExpiries, `job ${job.id} (${job.kind})`).toBe(0);
      }
      expect(activeCounts.length).toBeGreaterThan(100);
      expect(new Set(activeCounts)).toEqual(new Set([1]));
    },
  );
});
