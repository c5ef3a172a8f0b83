import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { PeakMemorySampler, type PeakMemory } from '@/scripts/sim/process-memory';
import { getEnv } from '@/lib/env';
import { isBuildCurrent, webServerArgs } from '@/scripts/lib/web-build';
import { workerNodeArgs } from '@/scripts/lib/worker-args';

/**
 * A Loupe started for a simulation or a benchmark: the production web server (Next behind
 * scripts/serve-web.ts, from an existing build) and the worker, as `npm start` runs them, on a
 * database the caller prepared. Both processes' memory is sampled from start to stop.
 */
export interface LaunchedLoupe {
  baseUrl: string;
  webPid: number;
  workerPid: number | null;
  /** Stops both processes (SIGTERM, then SIGKILL after 10 s) and returns their peak memory. */
  stop(): Promise<{ web: PeakMemory | null; worker: PeakMemory | null }>;
}

export interface LaunchOptions {
  root: string;
  /** The Next build folder (relative to root); it must be current: see ensureWebBuild. */
  distDir: string;
  dbPath: string;
  /** Where the worker writes candidate model versions. */
  modelsDir: string;
  port?: number;
  /** false: the web server only (a benchmark that must not share the cores with training). */
  worker?: boolean;
  env?: Record<string, string>;
  log: (line: string) => void;
  /** Where the processes' output goes; default: dropped, except the last lines on a failed start. */
  output?: 'inherit' | 'ignore';
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function launchLoupe(options: LaunchOptions): Promise<LaunchedLoupe> {
  if (!isBuildCurrent(options.root, options.distDir)) {
    throw new Error(
      `the web build in ${options.distDir} is missing or older than the code; run npm start once (or pass the build folder that is current).`,
    );
  }
  const port = options.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    LOUPE_DB: options.dbPath,
    LOUPE_MODELS_DIR: options.modelsDir,
    LOUPE_NEXT_DIST_DIR: options.distDir,
    NEXTAUTH_URL: baseUrl,
    NEXT_TELEMETRY_DISABLED: '1',
    PORT: String(port),
  };
  const tail: string[] = [];
  const spawnPart = (args: string[]): ChildProcess => {
    const child = spawn(process.execPath, args, {
      cwd: options.root,
      env,
      stdio: options.output === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      tail.push(...chunk.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 40));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  };
  // The production server, as `npm start` runs it: Next behind scripts/serve-web.ts.
  const web = spawnPart(
    webServerArgs(port, { distDir: options.distDir, hostname: '127.0.0.1', heapMb: getEnv().LOUPE_WEB_HEAP_MB }),
  );
  const worker = options.worker === false ? null : spawnPart(workerNodeArgs());
  const samplers = {
    web: new PeakMemorySampler(web.pid!).start(),
    worker: worker ? new PeakMemorySampler(worker.pid!).start() : null,
  };

  const stop = async () => {
    const memory = { web: samplers.web.stop(), worker: samplers.worker?.stop() ?? null };
    await Promise.all([web, worker].filter((c): c is ChildProcess => c !== null).map(terminate));
    return memory;
  };
  try {
    await waitForHealth(baseUrl, [web, worker], 120_000);
  } catch (error) {
    await stop();
    const lines = tail.slice(-15).join('\n');
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}${lines ? `\nlast output:\n${lines}` : ''}`,
    );
  }
  options.log(`Loupe is up on ${baseUrl} (web pid ${web.pid}${worker ? `, worker pid ${worker.pid}` : ', no worker'})`);
  return { baseUrl, webPid: web.pid!, workerPid: worker?.pid ?? null, stop };
}

async function waitForHealth(baseUrl: string, children: (ChildProcess | null)[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const child of children) {
      if (child && child.exitCode !== null)
        throw new Error(`a Loupe process exited with code ${child.exitCode} while starting`);
    }
    try {
      const response = await fetch(`${baseUrl}/api/v1/health`, { signal: AbortSignal.timeout(5000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Loupe did not answer ${baseUrl}/api/v1/health within ${timeoutMs / 1000} s`);
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
