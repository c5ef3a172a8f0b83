import fs from 'node:fs';
import path from 'node:path';
import { bundleWebServer, ensureWebBuild, SERVER_BUNDLE, webServerArgs } from '@/scripts/lib/web-build';
import { superviseParts } from '@/scripts/lib/supervisor';
import { workerNodeArgs } from '@/scripts/lib/worker-args';
import { SUPERVISOR_WRITE_MS, writeSupervisorStatus, type SupervisorStatus } from '@/lib/supervisor-status';
import { getEnv } from '@/lib/env';
import { prepareDatabase } from './prepare';

/**
 * `npm start`: migrate, seed the demo on an empty database, score, then serve the web app
 * and run the worker until interrupted. One command on a fresh clone.
 *
 * This process supervises the two: a part that dies is logged and restarted with a back-off
 * (1 s doubling to 30 s while it keeps dying) and the other part keeps serving. SIGTERM or
 * SIGINT stops both: the web server within 10 s; the worker finishes or gives back its job
 * (8 s, lib/worker/shutdown.ts) and is killed after 15 s, when its job is taken over after the
 * lease like a crashed worker's. A second signal kills both at once.
 */
const port = process.env.PORT ?? '3000';
const log = (line: string) => console.log(`[start] ${line}`);

try {
  await prepareDatabase(log);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

// Next's anonymous telemetry would try to reach the internet; Loupe runs where it cannot.
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? `http://localhost:${port}`,
};
const distDir = process.env.LOUPE_NEXT_DIST_DIR ?? '.next';
// LOUPE_SERVE_BUILD_AS_IS=1: serve an existing build without checking it against the sources
// (a test that starts a second Loupe on the build the e2e server made moments ago, while the
// sources may be edited meanwhile). Without a build there, it is built as usual.
const serveAsIs = process.env.LOUPE_SERVE_BUILD_AS_IS === '1' && fs.existsSync(path.join(distDir, 'BUILD_ID'));
try {
  if (!serveAsIs) ensureWebBuild({ root: process.cwd(), distDir, env, log });
  else if (!fs.existsSync(path.join(distDir, SERVER_BUNDLE))) bundleWebServer(process.cwd(), distDir);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const publish = (status: SupervisorStatus) => {
  try {
    writeSupervisorStatus(status);
  } catch (error) {
    log(`could not write the supervisor status: ${error instanceof Error ? error.message : String(error)}`);
  }
};
const supervisor = superviseParts({
  parts: [
    {
      name: 'web',
      command: process.execPath,
      // next start behind scripts/serve-web.ts (its bundle in the build folder), which vouches
      // for the client address (X-Forwarded-For).
      args: webServerArgs(port, { distDir, heapMb: getEnv().LOUPE_WEB_HEAP_MB }),
      stopTimeoutMs: 10_000,
    },
    {
      name: 'worker',
      command: process.execPath,
      args: workerNodeArgs(),
      stopTimeoutMs: 15_000,
    },
  ],
  spawnOptions: { stdio: 'inherit', env },
  log,
  onChange: publish,
});
// Rewritten while nothing changes too, so a file left by a supervisor that was killed reads as stale.
const refresh = setInterval(() => publish(supervisor.status()), SUPERVISOR_WRITE_MS);
log(`serving on http://localhost:${port}`);

let signals = 0;
const stop = (signal: NodeJS.Signals) => {
  if (++signals > 1) {
    log(`${signal} again: killing the web server and the worker now`);
    supervisor.killNow();
    return;
  }
  log(`${signal}: stopping the web server and the worker`);
  void supervisor.stop().then(() => {
    clearInterval(refresh);
    log('stopped');
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
