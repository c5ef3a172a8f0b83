/**
 * Decisions per second with one and with two web servers on one database (issue 20):
 *
 *   npx tsx scripts/bench/servers.ts [--database-url postgres://...] [--servers 1,2] [--seconds 30] [--reviewers 50]
 *
 * For each server count: a fresh demo database (the start script's seed; SQLite in a temp folder,
 * or a new database on the PostgreSQL server named), the threshold raised so most items wait for
 * review, N web servers without workers (the end-to-end build), and reviewers in a closed loop
 * (claim, confirm, claim...) whose requests go to the servers in turn. Prints one JSON line per run.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { closeDb, openDb } from '@/db/client';
import { createUserAsSystem } from '@/lib/auth/users';
import type { ClaimedItem } from '@/lib/review/queue';
import { ensureWebBuild } from '@/scripts/lib/web-build';
import { LoupeClient } from '@/scripts/sim/http-client';
import { launchLoupe, type LaunchedLoupe } from '@/scripts/sim/launch';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    servers: { type: 'string', default: '1,2' },
    seconds: { type: 'string', default: '30' },
    reviewers: { type: 'string', default: '50' },
    'dist-dir': { type: 'string', default: '.next-e2e' },
  },
});
const root = process.cwd();
const seconds = Number(values.seconds);
const reviewers = Number(values.reviewers);
const distDir = values['dist-dir']!;
const log = (line: string) => console.error(`[servers] ${line}`);
const PASSWORD = 'bench-servers-password';

/** Databases this run made on the server: dropped at the end. */
const made: string[] = [];

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: values['database-url'] });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function freshDatabase(dir: string, run: number): Promise<Record<string, string>> {
  const admin = values['database-url'];
  if (!admin) return { LOUPE_DB: path.join(dir, `loupe-${run}.db`), LOUPE_DATABASE_URL: '', DATABASE_URL: '' };
  const name = `loupe_bench_servers_${process.pid}_${run}`;
  await adminQuery(`create database ${name}`);
  made.push(name);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { LOUPE_DB: path.join(dir, 'unused.db'), LOUPE_DATABASE_URL: url.toString() };
}

async function measure(serverCount: number, run: number, dir: string) {
  const env: Record<string, string> = {
    ...(await freshDatabase(dir, run)),
    NEXTAUTH_SECRET: 'bench-servers-secret-32-characters-long!',
  };
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed.ts'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
  // One account per reviewer: a claim hands a reviewer the item they already hold first.
  const db = openDb(env.LOUPE_DATABASE_URL || env.LOUPE_DB!);
  for (let i = 0; i < reviewers; i++)
    await createUserAsSystem(db, {
      email: `bench-${run}-${i}@servers.bench`,
      name: `Bench ${i}`,
      password: PASSWORD,
      role: 'reviewer',
      passwordCost: 4,
    });
  await closeDb(db);
  const loupes: LaunchedLoupe[] = [];
  try {
    for (let i = 0; i < serverCount; i++)
      loupes.push(
        await launchLoupe({
          root,
          distDir,
          dbPath: env.LOUPE_DB!,
          modelsDir: path.join(dir, 'models'),
          worker: false,
          env,
          log,
        }),
      );
    const urls = loupes.map((l) => l.baseUrl);
    const admin = new LoupeClient(urls[0]!);
    await admin.signIn('admin@loupe.demo', 'admin-demo-password');
    await admin.put('/api/v1/catalogues/fashion-mnist/threshold', { threshold: 0.999 });
    const clients: LoupeClient[][] = [];
    for (let i = 0; i < reviewers; i++) {
      const first = new LoupeClient(urls[i % urls.length]!);
      await first.signIn(`bench-${run}-${i}@servers.bench`, PASSWORD);
      clients.push(urls.map((url) => first.sameSessionOn(url)));
    }
    let decisions = 0;
    let errors = 0;
    let drained = false;
    const start = Date.now();
    let lastDecisionAt = start;
    const end = start + seconds * 1000;
    await Promise.all(
      clients.map(async (mine, index) => {
        let turn = index;
        const next = () => mine[turn++ % mine.length]!;
        while (Date.now() < end) {
          try {
            const { item } = await next().post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', {
              catalogue: 'fashion-mnist',
            });
            if (!item) {
              drained = true;
              break;
            }
            await next().post('/api/v1/reviews', {
              itemId: item.itemId,
              action: item.modelVersionId === null ? 'correct' : 'confirm',
              label: item.modelVersionId === null ? 0 : undefined,
              clientId: randomUUID(),
              durationMs: 1000,
              modelVersionId: item.modelVersionId ?? undefined,
            });
            decisions++;
            lastDecisionAt = Date.now();
          } catch {
            errors++;
          }
        }
      }),
    );
    return {
      servers: serverCount,
      reviewers,
      // Over the time decisions were made: a queue that ran out before the end would understate the rate.
      seconds: Number(((lastDecisionAt - start) / 1000).toFixed(1)),
      drained,
      decisions,
      decisionsPerSecond: Math.round(decisions / ((lastDecisionAt - start) / 1000)),
      errors,
    };
  } finally {
    await Promise.all(loupes.map((l) => l.stop()));
  }
}

ensureWebBuild({ root, distDir, env: process.env, log, stdio: 'stderr' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-servers-'));
try {
  let run = 0;
  for (const count of values.servers!.split(',').map(Number)) {
    const result = await measure(count, ++run, dir);
    console.log(
      JSON.stringify({
        database: values['database-url'] ? 'postgres' : 'sqlite',
        ...result,
        machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown'}`,
        at: new Date().toISOString(),
      }),
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const name of made) await adminQuery(`drop database if exists ${name} with (force)`);
}
