import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { ChildStatus, SupervisedPart, SupervisorStatus } from '@/lib/supervisor-status';

/**
 * The process tree of `npm start`: each part (the web server, the worker) is a child process
 * restarted when it dies, with a back-off that doubles from `initialMs` to `maxMs` while it
 * keeps dying and is reset once a part has stayed up `resetAfterMs`; the other part is not
 * touched. stop() sends SIGTERM to every part and SIGKILL to one still running after its
 * `stopTimeoutMs`.
 */
export interface PartSpec {
  name: SupervisedPart;
  command: string;
  args: string[];
  /** How long the part may take to stop after SIGTERM before it is killed. */
  stopTimeoutMs: number;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

export interface Supervisor {
  /** Resolves once every part has exited; repeated calls return the same promise. */
  stop(): Promise<void>;
  /** Kills every part at once (a second Ctrl-C). */
  killNow(): void;
  status(): SupervisorStatus;
}

interface Part {
  spec: PartSpec;
  child: ChildProcess | null;
  status: ChildStatus;
  delayMs: number;
  restartTimer: NodeJS.Timeout | null;
}

export function superviseParts(options: {
  parts: PartSpec[];
  spawnOptions: SpawnOptions;
  backoff?: Backoff;
  log: (line: string) => void;
  /** Called after every change of a part's state. */
  onChange?: (status: SupervisorStatus) => void;
}): Supervisor {
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const { log } = options;
  let stopping: Promise<void> | null = null;
  const parts: Part[] = options.parts.map((spec) => ({
    spec,
    child: null,
    delayMs: backoff.initialMs,
    restartTimer: null,
    status: { state: 'restarting', pid: null, startedAt: null, restarts: 0, lastExit: null, restartAt: null },
  }));

  const status = (): SupervisorStatus => ({
    pid: process.pid,
    updatedAt: new Date().toISOString(),
    children: Object.fromEntries(parts.map((p) => [p.spec.name, { ...p.status }])) as SupervisorStatus['children'],
  });
  const changed = () => options.onChange?.(status());

  const start = (part: Part) => {
    part.restartTimer = null;
    const child = spawn(part.spec.command, part.spec.args, options.spawnOptions);
    const startedAt = Date.now();
    part.child = child;
    part.status = {
      ...part.status,
      state: 'running',
      pid: child.pid ?? null,
      startedAt: new Date(startedAt).toISOString(),
      restartAt: null,
    };
    changed();
    child.on('error', (error) => log(`${part.spec.name}: could not start: ${error.message}`));
    child.on('exit', (code, signal) => {
      part.child = null;
      const upMs = Date.now() - startedAt;
      part.status = {
        ...part.status,
        pid: null,
        lastExit: { code, signal, at: new Date().toISOString() },
      };
      if (stopping) {
        part.status.state = 'stopped';
        changed();
        return;
      }
      // A part that stayed up a while crashed once; one that dies at once is crash-looping.
      if (upMs >= backoff.resetAfterMs) part.delayMs = backoff.initialMs;
      const delayMs = part.delayMs;
      part.delayMs = Math.min(backoff.maxMs, part.delayMs * 2);
      part.status.state = 'restarting';
      part.status.restarts++;
      part.status.restartAt = new Date(Date.now() + delayMs).toISOString();
      log(
        `error: the ${part.spec.name} process (pid ${child.pid}) exited (${signal ? `signal ${signal}` : `code ${code}`}) after ${Math.round(upMs / 1000)} s; restarting it in ${delayMs / 1000} s (restart ${part.status.restarts})`,
      );
      changed();
      part.restartTimer = setTimeout(() => start(part), delayMs);
    });
  };

  const exited = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });

  const stopPart = async (part: Part) => {
    if (part.restartTimer) clearTimeout(part.restartTimer);
    part.restartTimer = null;
    const child = part.child;
    if (!child) {
      part.status.state = 'stopped';
      return;
    }
    const kill = setTimeout(() => {
      log(`${part.spec.name} did not stop within ${part.spec.stopTimeoutMs / 1000} s of SIGTERM: killing it`);
      child.kill('SIGKILL');
    }, part.spec.stopTimeoutMs);
    child.kill('SIGTERM');
    await exited(child);
    clearTimeout(kill);
  };

  for (const part of parts) start(part);

  return {
    stop() {
      stopping ??= Promise.all(parts.map(stopPart)).then(() => changed());
      return stopping;
    },
    killNow() {
      for (const part of parts) part.child?.kill('SIGKILL');
    },
    status,
  };
}
