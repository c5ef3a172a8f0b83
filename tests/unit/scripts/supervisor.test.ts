import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SupervisorStatus } from '@/lib/supervisor-status';
import { superviseParts, type PartSpec, type Supervisor } from '@/scripts/lib/supervisor';

// npm start's supervisor on real child processes: tiny node programs that serve forever, crash,
// or ignore SIGTERM.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SERVES = `process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);`;
const CRASHES = `setTimeout(() => process.exit(3), 30);`;
/** Writes $READY_FILE once its handler is set, so a test does not signal it before. */
const IGNORES_SIGTERM = `process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(process.env.READY_FILE, ''); setInterval(() => {}, 1000);`;

const part = (name: PartSpec['name'], program: string, stopTimeoutMs = 2000): PartSpec => ({
  name,
  command: process.execPath,
  args: ['-e', program],
  stopTimeoutMs,
});

let running: Supervisor | null = null;
afterEach(async () => {
  running?.killNow();
  await running?.stop();
  running = null;
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-supervisor-'));
const readyFile = path.join(tmp, 'ready');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function start(parts: PartSpec[], backoff = { initialMs: 100, maxMs: 400, resetAfterMs: 60_000 }) {
  const lines: string[] = [];
  const changes: SupervisorStatus[] = [];
  running = superviseParts({
    parts,
    spawnOptions: { stdio: 'ignore', env: { ...process.env, READY_FILE: readyFile } },
    backoff,
    log: (line) => lines.push(line),
    onChange: (status) => changes.push(status),
  });
  return { supervisor: running, lines, changes };
}

async function waitFor<T>(read: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(20);
  }
}

const alive = (pid: number | null) => {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the supervisor of npm start', () => {
  it('restarts a part killed with SIGKILL, logs it, and leaves the other part running', async () => {
    const { supervisor, lines } = start([part('web', SERVES), part('worker', SERVES)]);
    const first = await waitFor(() => {
      const { web, worker } = supervisor.status().children;
      return web.pid !== null && worker.pid !== null && { web: web.pid, worker: worker.pid };
    });
    process.kill(first.worker, 'SIGKILL');
    const restarted = await waitFor(() => {
      const worker = supervisor.status().children.worker;
      return worker.state === 'running' && worker.pid !== first.worker && worker;
    });
    expect(restarted.restarts).toBe(1);
    expect(restarted.lastExit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(alive(restarted.pid)).toBe(true);
    // The web part was not touched.
    expect(supervisor.status().children.web).toMatchObject({ state: 'running', pid: first.web, restarts: 0 });
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: the worker process \\(pid ${first.worker}\\) exited \\(signal SIGKILL\\) after \\d+ s; restarting it in 0.1 s \\(restart 1\\)$`,
        ),
      ),
    ]);
  });

  it('backs off a part that keeps dying, doubling up to the maximum', async () => {
    const { supervisor, lines } = start([part('web', SERVES), part('worker', CRASHES)]);
    await waitFor(() => supervisor.status().children.worker.restarts >= 5);
    const delays = lines.map((line) => Number(line.match(/restarting it in ([\d.]+) s/)?.[1]));
    expect(delays.slice(0, 5)).toEqual([0.1, 0.2, 0.4, 0.4, 0.4]);
    expect(supervisor.status().children.web.restarts).toBe(0);
  });

  it('resets the back-off once a part stayed up long enough', async () => {
    const { supervisor, lines } = start([part('worker', `setTimeout(() => process.exit(1), 150);`)], {
      initialMs: 50,
      maxMs: 1000,
      resetAfterMs: 100,
    });
    await waitFor(() => supervisor.status().children.worker.restarts >= 3);
    // Each run lasted 150 ms, past the 100 ms reset: never a doubled delay.
    expect(lines.slice(0, 3).map((line) => line.match(/restarting it in ([\d.]+) s/)?.[1])).toEqual([
      '0.05',
      '0.05',
      '0.05',
    ]);
  });

  it('stop() sends SIGTERM to both parts, kills one that ignores it after its limit, and restarts nothing', async () => {
    const { supervisor, lines } = start([part('web', SERVES), part('worker', IGNORES_SIGTERM, 500)]);
    const pids = await waitFor(() => {
      const { web, worker } = supervisor.status().children;
      return web.pid !== null && worker.pid !== null && [web.pid, worker.pid];
    });
    await waitFor(() => fs.existsSync(readyFile));
    const t0 = Date.now();
    await supervisor.stop();
    const tookMs = Date.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(450);
    expect(pids.map(alive)).toEqual([false, false]);
    const { web, worker } = supervisor.status().children;
    expect(web).toMatchObject({ state: 'stopped', restarts: 0 });
    expect(worker).toMatchObject({ state: 'stopped', restarts: 0, lastExit: { code: null, signal: 'SIGKILL' } });
    expect(lines).toEqual(['worker did not stop within 0.5 s of SIGTERM: killing it']);
  });

  it('stop() during a back-off cancels the pending restart', async () => {
    const { supervisor } = start([part('worker', CRASHES)], { initialMs: 300, maxMs: 300, resetAfterMs: 60_000 });
    await waitFor(() => supervisor.status().children.worker.state === 'restarting');
    await supervisor.stop();
    await sleep(500);
    expect(supervisor.status().children.worker).toMatchObject({ state: 'stopped', pid: null, restarts: 1 });
  });
});
