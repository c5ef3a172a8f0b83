import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { createUserAsSystem } from '@/lib/auth/users';
import type { ClaimedItemJson as ClaimedItem } from '@/lib/review/claimed-item';
import { fillSyntheticCatalogue } from '@/scripts/bench/catalogue-fixture';
import { LoupeClient } from '@/scripts/sim/http-client';
import { launchLoupe } from '@/scripts/sim/launch';
import { percentile } from '@/scripts/sim/metrics';
import { PeakMemorySampler, type PeakMemory } from '@/scripts/sim/process-memory';
import { runPacedLoad, type PacedReport } from '@/scripts/bench/queue-paced';

/**
 * The reviewer queue under load, through the real HTTP API of the production web server: a temp
 * database with a synthetic catalogue, `reviewers` signed-in clients at once, each claiming an
 * item and confirming it `rounds` times with no think time. Every claim and every submit is
 * timed on the client (request to parsed answer), so the figures include HTTP, auth, zod and
 * SQLite, as a reviewer's page sees them. The web server runs alone: the synthetic model has
 * no weights, so no worker is started and nothing else competes for the cores.
 */
export interface QueueLatencyOptions {
  root: string;
  /** A current Next build folder (relative to root). */
  distDir: string;
  itemCount: number;
  reviewers: number;
  rounds: number;
  /** After the closed loop, on the same server: reviewers at a human pace (scripts/bench/queue-paced.ts). */
  paced?: PacedPlan;
  /**
   * Who answers the queue's hot routes (LOUPE_QUEUE_ROUTES): `direct`, the production server
   * before Next (the default), or `next`, every request through Next, for the comparison.
   */
  queueRoutes?: 'direct' | 'next';
  log: (line: string) => void;
}

export interface PacedPlan {
  /** Focus-view reviewers, one decision each per `intervalMs`. */
  reviewers: number;
  intervalMs: number;
  seconds: number;
  /** Grid reviewers, one grid of `gridSize` each per `gridIntervalMs`. */
  gridReviewers: number;
  gridIntervalMs: number;
  gridSize: number;
}

export interface LatencyFigures {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  meanMs: number | null;
  maxMs: number | null;
}

export interface QueueLatencyReport {
  /** Who answered the hot routes: the production server itself (`direct`) or Next. */
  queueRoutes: 'direct' | 'next';
  items: number;
  reviewers: number;
  roundsPerReviewer: number;
  claim: LatencyFigures;
  submit: LatencyFigures;
  decisions: number;
  /** Claims answered `{item: null}`: the queue had nothing left for that reviewer. */
  emptyClaims: number;
  /** Every call that threw (network, 4xx including 409 lapsed holds, 5xx); must be 0. */
  errors: number;
  errorSamples: string[];
  wallSeconds: number;
  decisionsPerSecond: number;
  /**
   * Where the closed loop's time went: CPU milliseconds per decision (a claim and a submit) of the
   * web server's process tree and of this load generator, which share the machine's cores.
   */
  cpuMsPerDecision: { server: number | null; loadGenerator: number };
  setupSeconds: { fill: number; accounts: number; start: number; signIn: number };
  /** The web server's peak resident memory over the whole run (start, sign-ins, load). */
  webMemory: PeakMemory | null;
  /**
   * Open-loop runs at a human pace after the closed loop (absent without `paced`); webRssMb is
   * the web server's peak sampled resident memory while they ran.
   */
  paced?: { focus: PacedReport; grid: PacedReport; webRssMb: number | null };
}

const PASSWORD_COST = 4;
const ERROR_SAMPLES = 5;

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const seconds = (since: number) => round((performance.now() - since) / 1000, 2);

export function latencyFigures(values: readonly number[], digits = 1): LatencyFigures {
  const ms = (x: number | null) => (x === null ? null : round(x, digits));
  return {
    count: values.length,
    p50Ms: ms(percentile(values, 50)),
    p99Ms: ms(percentile(values, 99)),
    meanMs: values.length > 0 ? ms(values.reduce((a, b) => a + b, 0) / values.length) : null,
    maxMs: values.length > 0 ? ms(Math.max(...values)) : null,
  };
}

export async function measureQueueLatency(options: QueueLatencyOptions): Promise<QueueLatencyReport> {
  const { log } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-queue-'));
  try {
    const dbPath = path.join(dir, 'loupe.db');
    const db = openDb(dbPath);
    let slug: string;
    const accounts: { email: string; password: string }[] = [];
    const fillStarted = performance.now();
    let fillSeconds: number;
    try {
      await migrateDb(db);
      slug = (await fillSyntheticCatalogue(db, { itemCount: options.itemCount })).slug;
      fillSeconds = seconds(fillStarted);
      log(`queue: ${options.itemCount} synthetic items in ${fillSeconds} s`);
      for (
        let i = 1;
        i <= Math.max(options.reviewers, options.paced?.reviewers ?? 0, options.paced?.gridReviewers ?? 0);
        i++
      ) {
        const account = { email: `bench-queue-${i}@loupe.bench`, password: randomBytes(12).toString('base64url') };
        await createUserAsSystem(db, {
          ...account,
          name: `Bench Reviewer ${i}`,
          role: 'reviewer',
          passwordCost: PASSWORD_COST,
        });
        accounts.push(account);
      }
    } finally {
      db.$client.close();
    }
    const accountsSeconds = round(seconds(fillStarted) - fillSeconds, 2);

    const startStarted = performance.now();
    const loupe = await launchLoupe({
      root: options.root,
      distDir: options.distDir,
      dbPath,
      modelsDir: path.join(dir, 'models'),
      worker: false,
      env: { LOUPE_QUEUE_ROUTES: options.queueRoutes ?? 'direct' },
      log,
    });
    const startSeconds = seconds(startStarted);
    // The worker checkpoints the WAL every second outside any request (db/client.ts
    // checkpointWal); no worker runs here, so a process of its own does it (as the worker's
    // would), or the connection's 64 MB safety net would checkpoint inside a request and the
    // figures would be of a setup nobody runs. Not in this process: a checkpoint blocks it, and
    // this process is the load generator.
    const checkpointer = await startCheckpointer(options.root, dbPath);
    const outcome = await driveReviewers(loupe.baseUrl, loupe.webPid, slug, accounts, options)
      .then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      )
      .finally(() => checkpointer.stop());
    const memory = await loupe.stop();
    if ('error' in outcome) throw outcome.error;
    const { result } = outcome;
    return {
      queueRoutes: options.queueRoutes ?? 'direct',
      items: options.itemCount,
      reviewers: options.reviewers,
      roundsPerReviewer: options.rounds,
      claim: latencyFigures(result.claims),
      submit: latencyFigures(result.submits),
      decisions: result.submits.length,
      emptyClaims: result.emptyClaims,
      errors: result.errors,
      errorSamples: result.errorSamples,
      wallSeconds: result.wallSeconds,
      decisionsPerSecond: result.wallSeconds > 0 ? round(result.submits.length / result.wallSeconds, 1) : 0,
      cpuMsPerDecision: {
        server: result.serverCpuMs === null ? null : round(result.serverCpuMs / Math.max(1, result.submits.length), 2),
        loadGenerator: round(result.clientCpuMs / Math.max(1, result.submits.length), 2),
      },
      setupSeconds: { fill: fillSeconds, accounts: accountsSeconds, start: startSeconds, signIn: result.signInSeconds },
      webMemory: memory.web,
      ...(result.paced ? { paced: result.paced } : {}),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface DriveResult {
  claims: number[];
  submits: number[];
  emptyClaims: number;
  errors: number;
  errorSamples: string[];
  wallSeconds: number;
  signInSeconds: number;
  serverCpuMs: number | null;
  clientCpuMs: number;
  paced?: { focus: PacedReport; grid: PacedReport; webRssMb: number | null };
}

/** CPU time (user + system, ms) of a process and all its descendants so far; null without /proc. */
export function processTreeCpuMs(rootPid: number): number | null {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  try {
    const parents = new Map<number, number>();
    const cpu = new Map<number, number>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(entry), Number(fields[1]));
        cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) * tick);
      } catch {
        // the process ended while we looked
      }
    }
    const inTree = (pid: number): boolean => {
      for (let p: number | undefined = pid; p && p > 1; p = parents.get(p)) if (p === rootPid) return true;
      return false;
    };
    let total = 0;
    for (const [pid, ms] of cpu) if (inTree(pid)) total += ms;
    return cpu.has(rootPid) ? total : null;
  } catch {
    return null;
  }
}

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

async function driveReviewers(
  baseUrl: string,
  webPid: number,
  slug: string,
  accounts: { email: string; password: string }[],
  options: QueueLatencyOptions,
): Promise<DriveResult> {
  const out: DriveResult = {
    claims: [],
    submits: [],
    emptyClaims: 0,
    errors: 0,
    errorSamples: [],
    wallSeconds: 0,
    signInSeconds: 0,
    serverCpuMs: null,
    clientCpuMs: 0,
  };
  const fail = (error: unknown) => {
    out.errors++;
    if (out.errorSamples.length < ERROR_SAMPLES)
      out.errorSamples.push(error instanceof Error ? error.message : String(error));
  };
  const signInStarted = performance.now();
  const clients = await Promise.all(
    accounts.map(async (account) => {
      const client = new LoupeClient(baseUrl);
      await client.signIn(account.email, account.password);
      return client;
    }),
  );
  out.signInSeconds = seconds(signInStarted);
  options.log(`queue: ${clients.length} reviewers signed in (${out.signInSeconds} s)`);

  // One untimed claim and submit first: the server loads each route's code on its first request.
  const claimItem = async (client: LoupeClient) =>
    (await client.post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', { catalogue: slug, holding: [] })).item;
  const confirm = (client: LoupeClient, item: ClaimedItem, clientId: string) =>
    client.post('/api/v1/reviews', {
      itemId: item.itemId,
      action: 'confirm',
      clientId,
      durationMs: 0,
      ...(item.modelVersionId ? { modelVersionId: item.modelVersionId } : {}),
    });
  const warm = await claimItem(clients[0]!);
  if (warm) await confirm(clients[0]!, warm, `bench-warmup-${randomBytes(6).toString('hex')}`);

  const runId = randomBytes(4).toString('hex');
  const serverCpuBefore = processTreeCpuMs(webPid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    clients.slice(0, options.reviewers).map(async (client, reviewer) => {
      for (let r = 0; r < options.rounds; r++) {
        let item: ClaimedItem | null;
        try {
          const t = performance.now();
          item = await claimItem(client);
          out.claims.push(performance.now() - t);
        } catch (error) {
          fail(error);
          continue;
        }
        if (!item) {
          out.emptyClaims++;
          return;
        }
        try {
          const t = performance.now();
          await confirm(client, item, `bench-${runId}-${reviewer}-${r}`);
          out.submits.push(performance.now() - t);
        } catch (error) {
          fail(error);
        }
      }
    }),
  );
  out.wallSeconds = seconds(started);
  const serverCpuAfter = processTreeCpuMs(webPid);
  out.serverCpuMs =
    serverCpuBefore === null || serverCpuAfter === null ? null : round(serverCpuAfter - serverCpuBefore, 0);
  out.clientCpuMs = round(cpuMs(process.cpuUsage(clientCpuBefore)), 0);
  options.log(`queue: ${out.submits.length} decisions in ${out.wallSeconds} s, ${out.errors} errors`);
  const plan = options.paced;
  if (plan) {
    // The web server's memory while the paced load runs (sampled RSS; its lifetime high-water
    // mark, startup included, is in webMemory).
    const pacedMemory = new PeakMemorySampler(webPid).start();
    const focus = await runPacedLoad({
      clients: clients.slice(0, plan.reviewers),
      slug,
      mode: 'focus',
      intervalMs: plan.intervalMs,
      durationMs: plan.seconds * 1000,
    });
    options.log(
      `queue: paced focus ${focus.decisions} decisions, claim p99 ${focus.claim.p99Ms} ms, ${focus.errors} errors`,
    );
    const grid = await runPacedLoad({
      clients: clients.slice(0, plan.gridReviewers),
      slug,
      mode: 'grid',
      intervalMs: plan.gridIntervalMs,
      durationMs: plan.seconds * 1000,
      gridSize: plan.gridSize,
    });
    options.log(
      `queue: paced grid ${grid.decisions} decisions, claim p99 ${grid.claim.p99Ms} ms, ${grid.errors} errors`,
    );
    const memory = pacedMemory.stop();
    out.paced = { focus, grid, webRssMb: memory?.peakTreeRssSampledMb ?? null };
  }
  return out;
}

/** scripts/bench/wal-checkpointer.ts on `dbPath`, once it is ready; `stop` closes its stdin and waits for it. */
async function startCheckpointer(root: string, dbPath: string): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/wal-checkpointer.ts', dbPath], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the WAL checkpointer exited (${String(code)}) before it was ready`);
    }),
  ])) as [Buffer];
  if (!line.toString().includes('ready')) throw new Error(`the WAL checkpointer said "${line.toString().trim()}"`);
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin!.end();
      await exited;
    },
  };
}
