import { spawn, type ChildProcess } from 'node:child_process';
import { ensureWebBuild, KEEP_ALIVE_TIMEOUT_MS, nextBin } from '@/scripts/lib/web-build';
import { prepareDatabase } from './prepare';

/**
 * `npm start`: migrate, seed the demo on an empty database, score, then serve the web app
 * and run the worker until interrupted. One command on a fresh clone.
 */
const port = process.env.PORT ?? '3000';
const log = (line: string) => console.log(`[start] ${line}`);

await prepareDatabase(log);

// Next's anonymous telemetry would try to reach the internet; Loupe runs where it cannot.
const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? `http://localhost:${port}`,
};
const distDir = process.env.LOUPE_NEXT_DIST_DIR ?? '.next';
try {
  ensureWebBuild({ root: process.cwd(), distDir, env, log });
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const children: ChildProcess[] = [
  spawn(
    process.execPath,
    [nextBin(process.cwd()), 'start', '-p', port, '--keepAliveTimeout', String(KEEP_ALIVE_TIMEOUT_MS)],
    { stdio: 'inherit', env },
  ),
  spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], { stdio: 'inherit', env }),
];
log(`serving on http://localhost:${port}`);
const stop = () => children.forEach((c) => c.kill('SIGTERM'));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const child of children) {
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) console.error(`error: a Loupe process exited with code ${code}`);
    stop();
    process.exitCode = code ?? 0;
  });
}
