import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, request, test } from '@playwright/test';
import { isHeldOutHumanLabel } from '@/lib/learning/split';
import { LoupeApiError, LoupeClient } from '@/scripts/sim/http-client';
import { freePort } from '@/scripts/sim/launch';
import { DEMO, signInWithApi } from './fixtures';
import { E2E } from './e2e-env';

// Faults on purpose: `npm start` (scripts/start.ts, the supervisor) on its own database and
// port, served from the build the e2e server made, with two reviewers deciding items through
// the API the whole time. The worker is killed (kill -9) in the middle of a training, then the
// web server; each must come back within seconds while the other part keeps serving, no
// acknowledged decision may be lost, and the interrupted training must finish. Then Loupe is
// stopped (SIGTERM) and started again with a catalogue that has no model, and stopped once more
// in the middle of a training, which must be given back to the queue.

const root = path.resolve(import.meta.dirname, '..', '..');
const SLUG = 'fashion-mnist';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Health {
  ok: boolean;
  status: string;
  web: { status: string; restarts: number | null };
  worker: { status: string; lastSeen: string | null; restarts: number | null; pid?: number };
}
interface PartState {
  state: string;
  pid: number | null;
  restarts: number;
}
interface JobRow {
  id: number;
  status: string;
  attempts: number;
  lease_expiries: number;
  progress: string | null;
  error: string | null;
  updated_at: number;
}

/** Every line the Loupes of this file printed, written to the test's output folder at the end. */
const output: string[] = [];

class Loupe {
  readonly output = output;
  readonly proc: ChildProcess;

  constructor(
    readonly dir: string,
    readonly port: number,
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LOUPE_DB: path.join(dir, 'loupe.db'),
        LOUPE_MODELS_DIR: path.join(dir, 'models'),
        LOUPE_NEXT_DIST_DIR: E2E.distDir,
        LOUPE_SERVE_BUILD_AS_IS: '1',
        PORT: String(port),
        NEXTAUTH_URL: this.baseUrl,
        // A short lease and one epoch keep the test short; the mechanics are the defaults'.
        LOUPE_JOB_LEASE_MS: '5000',
        LOUPE_RETRAIN_EPOCHS: '1',
        // One epoch can end inside the default 8 s grace on an idle machine; then the SIGTERM
        // step would see a finished job instead of one given back.
        LOUPE_STOP_GRACE_MS: '1000',
        LOUPE_WORKER_POLL_MS: '500',
        NEXT_TELEMETRY_DISABLED: '1',
      },
    });
    const keep = (chunk: Buffer) => this.output.push(...chunk.toString().split('\n').filter(Boolean));
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  tail(lines = 60): string {
    return this.output.slice(-lines).join('\n');
  }

  parts(): Record<'web' | 'worker', PartState> {
    return JSON.parse(fs.readFileSync(path.join(this.dir, 'supervisor-status.json'), 'utf8')).children;
  }

  async health(): Promise<Health | null> {
    try {
      const response = await fetch(`${this.baseUrl}/api/v1/health`, { signal: AbortSignal.timeout(3000) });
      return response.ok ? ((await response.json()) as Health) : null;
    } catch {
      return null;
    }
  }

  query<T>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(path.join(this.dir, 'loupe.db'), { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  job(id: number): JobRow {
    return this.query<JobRow>('select * from jobs where id = ?', id)[0]!;
  }

  /** SIGTERM; resolves with the exit code and how long the stop took. */
  async stop(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    if (this.proc.exitCode !== null) return { code: this.proc.exitCode, ms: 0 };
    const exited = new Promise<number | null>((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.proc.kill('SIGTERM');
    return { code: await exited, ms: Date.now() - t0 };
  }
}

async function waitFor<T>(
  what: string,
  loupe: Loupe,
  read: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > until)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${loupe.tail()}`);
    await sleep(200);
  }
}

interface ClaimedItem {
  itemId: number;
  modelVersionId: number | null;
  predictedClass: number | null;
}

interface Ack {
  clientId: string;
  itemId: number;
  at: number;
}

/** Reviewers deciding items through the API until stopped; a decision is retried (same clientId) until answered. */
function startReviewers(loupe: Loupe) {
  const acks: Ack[] = [];
  const failures: { at: number; route: string; error: string }[] = [];
  let stopped = false;
  const reviewer = async (credentials: { email: string; password: string }, index: number) => {
    const client = new LoupeClient(loupe.baseUrl);
    await client.signIn(credentials.email, credentials.password);
    while (!stopped) {
      let item: ClaimedItem | null;
      try {
        item = (
          await client.post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', { catalogue: SLUG, holding: [] })
        ).item;
      } catch (error) {
        failures.push({ at: Date.now(), route: 'claim', error: String(error) });
        await sleep(250);
        continue;
      }
      if (!item) {
        await sleep(250);
        continue;
      }
      // Every third a correction, so training has something to learn from.
      const n = acks.length + index;
      const chosen = item.predictedClass === null || n % 3 === 0 ? ((item.predictedClass ?? 0) + 1) % 10 : null;
      const body = {
        itemId: item.itemId,
        clientId: randomUUID(),
        durationMs: 500,
        ...(chosen === null ? { action: 'confirm' } : { action: 'correct', label: chosen }),
        ...(item.modelVersionId !== null ? { modelVersionId: item.modelVersionId } : {}),
      };
      // A server killed mid-request may or may not have recorded it: the same clientId makes the retry safe.
      for (;;) {
        try {
          await client.post('/api/v1/reviews', body);
          acks.push({ clientId: body.clientId, itemId: body.itemId, at: Date.now() });
          break;
        } catch (error) {
          if (error instanceof LoupeApiError && error.status === 409) break; // the hold lapsed: not acknowledged
          if (error instanceof LoupeApiError && error.status < 500) throw error;
          failures.push({ at: Date.now(), route: 'review', error: String(error) });
          await sleep(250);
        }
      }
      await sleep(50);
    }
  };
  const running = Promise.all([DEMO.reviewer, DEMO.admin].map((c, i) => reviewer(c, i)));
  return {
    acks,
    failures,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** A figure for the report: on the test's annotations and in its output. */
function note(type: string, description: string): void {
  test.info().annotations.push({ type, description });
  console.log(`[faults] ${type}: ${description}`);
}

function phaseOf(job: JobRow): string | undefined {
  return job.progress ? (JSON.parse(job.progress) as { phase?: string }).phase : undefined;
}

test.describe.configure({ mode: 'serial' });

test('kill -9 of the worker and of the web server under load: the other part serves, each is back in seconds, no decision lost, the training finishes', async () => {
  test.setTimeout(10 * 60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-faults-'));
  let loupe = new Loupe(dir, await freePort());
  try {
    await waitFor('Loupe to start', loupe, async () => (await loupe.health())?.worker.status === 'up', 5 * 60_000);
    const reviewers = startReviewers(loupe);

    // Enough human labels to fine-tune and measure, then "train now" as an admin.
    await waitFor(
      'trainable human labels',
      loupe,
      () => {
        const ids = loupe
          .query<{ id: number }>(
            "select id from items where label_source = 'human' and eval_role is null and catalogue_id = (select id from catalogues where slug = ?)",
            SLUG,
          )
          .map((row) => row.id);
        const heldOut = ids.filter(isHeldOutHumanLabel).length;
        return ids.length >= 12 && heldOut >= 1 && ids.length - heldOut >= 3;
      },
      120_000,
    );
    const admin = new LoupeClient(loupe.baseUrl);
    await admin.signIn(DEMO.admin.email, DEMO.admin.password);
    const { job } = await admin.post<{ job: { id: number } }>(`/api/v1/catalogues/${SLUG}/train`, {});
    await waitFor('the training to run', loupe, () => phaseOf(loupe.job(job.id)) === 'training', 180_000);

    await test.step('kill -9 the worker mid-training', async () => {
      const worker = loupe.parts().worker;
      const acksBefore = reviewers.acks.length;
      const killedAt = Date.now();
      process.kill(worker.pid!, 'SIGKILL');
      // Health says the worker is down (or starting again), and never shows its pid to anyone anonymous.
      const seen = await waitFor(
        'health to report the worker down',
        loupe,
        async () => {
          const health = await loupe.health();
          return health && health.worker.status !== 'up' && health;
        },
        15_000,
      );
      expect(seen.ok).toBe(true);
      expect(seen.status).toBe('degraded');
      expect(seen.worker).not.toHaveProperty('pid');
      // Back within seconds: a new process, restarted by the supervisor, with a fresh heartbeat.
      await waitFor(
        'a new worker',
        loupe,
        async () => loupe.parts().worker.pid !== worker.pid && (await loupe.health())?.worker.status === 'up',
        30_000,
      );
      const backMs = Date.now() - killedAt;
      expect(loupe.parts().worker.restarts).toBe(1);
      // The web server served meanwhile: decisions went on being acknowledged, none failed.
      expect(reviewers.acks.length).toBeGreaterThan(acksBefore);
      expect(reviewers.failures.filter((f) => f.at >= killedAt)).toEqual([]);
      // The job is taken over once its lease expires, as the same attempt.
      const taken = await waitFor(
        'the training to be taken over',
        loupe,
        () => {
          const row = loupe.job(job.id);
          return row.lease_expiries === 1 && row.status === 'running' && row;
        },
        30_000,
      );
      expect(taken).toMatchObject({ attempts: 1, error: null });
      note('worker back after kill -9', `${backMs} ms`);
    });

    await test.step('kill -9 the web server while the worker trains', async () => {
      await waitFor('the training to run again', loupe, () => phaseOf(loupe.job(job.id)) === 'training', 180_000);
      const web = loupe.parts().web;
      const heartbeat = () => JSON.parse(fs.readFileSync(path.join(dir, 'worker-status.json'), 'utf8')).updatedAt;
      const killedAt = Date.now();
      process.kill(web.pid!, 'SIGKILL');
      expect(await loupe.health()).toBeNull();
      const beatAtKill = heartbeat();
      const progressAtKill = loupe.job(job.id).updated_at;
      await waitFor(
        'the web server to answer again',
        loupe,
        async () => loupe.parts().web.pid !== web.pid && (await loupe.health())?.ok,
        60_000,
      );
      const backMs = Date.now() - killedAt;
      // The worker went on meanwhile: its heartbeat and the job's lease renewals continued. Waited
      // for, not read once: the web server can be back within one 5 s heartbeat (and a training
      // step holds the worker's timers for a second or two).
      await waitFor('the worker heartbeat to move on', loupe, () => heartbeat() !== beatAtKill, 20_000);
      await waitFor('the job lease to be renewed', loupe, () => loupe.job(job.id).updated_at > progressAtKill, 20_000);
      expect(loupe.parts().web.restarts).toBe(1);
      const health = (await loupe.health())!;
      expect(health.web).toEqual({ status: 'up', restarts: 1 });
      // Reviewers' retries went through once it was back.
      const acksAtBack = reviewers.acks.length;
      await waitFor('decisions after the restart', loupe, () => reviewers.acks.length > acksAtBack + 2, 30_000);
      note('web back after kill -9', `${backMs} ms`);
    });

    await test.step('the interrupted training finishes; no acknowledged decision is lost', async () => {
      const done = await waitFor(
        'the training to finish',
        loupe,
        () => {
          const row = loupe.job(job.id);
          return (row.status === 'succeeded' || row.status === 'failed') && row;
        },
        5 * 60_000,
      );
      expect(done).toMatchObject({ status: 'succeeded', attempts: 1, lease_expiries: 1, error: null });
      await reviewers.stop();
      expect(reviewers.acks.length).toBeGreaterThan(20);
      note('acknowledged decisions, all recorded once', String(reviewers.acks.length));
      const recorded = new Set(
        loupe.query<{ client_id: string }>('select client_id from reviews').map((r) => r.client_id),
      );
      expect(reviewers.acks.filter((ack) => !recorded.has(ack.clientId))).toEqual([]);
      // Retries answered once: one review per acknowledged decision.
      const counts = loupe.query<{ n: number }>(
        `select count(*) as n from reviews where client_id in (${reviewers.acks.map(() => '?').join(',')})`,
        ...reviewers.acks.map((ack) => ack.clientId),
      );
      expect(counts[0]!.n).toBe(reviewers.acks.length);
    });

    await test.step('a catalogue without a model, then SIGTERM and a restart', async () => {
      const form = new FormData();
      form.set('catalogue', 'no-model-yet');
      form.set('create', 'true');
      form.set('name', 'No model yet');
      form.set('classes', 'left\nright');
      const images = new Uint8Array(16 + 784 * 2);
      new DataView(images.buffer).setUint32(0, 0x803);
      new DataView(images.buffer).setUint32(4, 2);
      new DataView(images.buffer).setUint32(8, 28);
      new DataView(images.buffer).setUint32(12, 28);
      images.fill(40, 16, 16 + 784);
      images.fill(200, 16 + 784);
      form.set('file', new Blob([images]), 'new-images-idx3-ubyte');
      const imported = await admin.postForm<{ inserted: number; created: boolean }>('/api/v1/imports', form);
      expect(imported).toMatchObject({ inserted: 2, created: true });
      const stopped = await loupe.stop();
      expect(stopped.code, loupe.tail()).toBe(0);
      expect(loupe.parts()).toMatchObject({ web: { state: 'stopped' }, worker: { state: 'stopped' } });

      loupe = new Loupe(dir, loupe.port);
      await waitFor('Loupe to start again', loupe, async () => (await loupe.health())?.worker.status === 'up', 120_000);
      expect(loupe.tail(200)).toContain('no-model-yet: not scored, no active model yet');

      // Every page opens on it and the models page says what to do next.
      const browser = await request.newContext({ baseURL: loupe.baseUrl });
      try {
        await signInWithApi(browser, DEMO.admin);
        for (const page of [
          '/catalogues',
          '/catalogues/no-model-yet',
          '/review?catalogue=no-model-yet',
          '/dashboards?catalogue=no-model-yet',
          '/settings',
          '/models',
          '/import',
        ]) {
          const response = await browser.get(page);
          expect({ page, status: response.status() }).toEqual({ page, status: 200 });
        }
        // React separates adjacent text with <!-- -->.
        const models = (await (await browser.get('/models')).text()).replaceAll('<!-- -->', '');
        expect(models).toContain('npm run register-model -- --catalogue no-model-yet --model models/no-model-yet');
        // The interrupted training says it was taken over, not that it used up an attempt.
        expect(models).toMatch(
          /attempt 1 of 2[^<]*<span data-testid="job-takeovers"> · taken over after 1 worker crash</,
        );
      } finally {
        await browser.dispose();
      }
    });

    await test.step('SIGTERM mid-training gives the job back within 10 s', async () => {
      const again = new LoupeClient(loupe.baseUrl);
      await again.signIn(DEMO.admin.email, DEMO.admin.password);
      const second = (await again.post<{ job: { id: number } }>(`/api/v1/catalogues/${SLUG}/train`, {})).job;
      await waitFor('the second training to run', loupe, () => phaseOf(loupe.job(second.id)) === 'training', 180_000);
      const stopped = await loupe.stop();
      expect(stopped.code, loupe.tail()).toBe(0);
      expect(loupe.tail(30)).not.toContain('killing it');
      expect(loupe.job(second.id)).toMatchObject({ status: 'queued', attempts: 0, lease_expiries: 0, error: null });
      note('SIGTERM to exit, mid-training', `${stopped.ms} ms`);
    });
  } finally {
    const logFile = test.info().outputPath('loupe.log');
    fs.writeFileSync(logFile, output.join('\n'));
    // Also where a person running it asked for it (the test-results folder is shared by every run).
    if (process.env.LOUPE_FAULTS_LOG) fs.writeFileSync(process.env.LOUPE_FAULTS_LOG, output.join('\n'));
    await test.info().attach('loupe.log', { path: logFile, contentType: 'text/plain' });
    if (loupe.proc.exitCode === null) {
      // A failed step: stop what this test started, by pid.
      let pids: number[] = [];
      try {
        pids = Object.values(loupe.parts()).flatMap((part) => (part.pid ? [part.pid] : []));
      } catch {
        // no supervisor status yet
      }
      loupe.proc.kill('SIGKILL');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
