import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** What the web build is made from; a change to any of it means the build is stale. */
const SOURCES = [
  'app',
  'lib',
  'db',
  'types',
  'proxy.ts',
  'scripts/serve-web.ts',
  'next.config.mjs',
  'postcss.config.mjs',
  'package-lock.json',
  'tsconfig.json',
];
const STAMP_FILE = 'loupe-source-hash';
/** scripts/serve-web.ts and the lib/ modules it imports, bundled into the build folder as plain JavaScript. */
export const SERVER_BUNDLE = 'loupe-serve-web.mjs';

function addTree(hash: ReturnType<typeof createHash>, target: string, root: string): void {
  if (!fs.existsSync(target)) return;
  const stat = fs.statSync(target);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(target).sort()) addTree(hash, path.join(target, entry), root);
    return;
  }
  hash.update(target).update('\0').update(fs.readFileSync(target)).update('\0');
}

export function sourceHash(root: string): string {
  const hash = createHash('sha256');
  for (const source of SOURCES) addTree(hash, path.join(root, source), root);
  return hash.digest('hex');
}

/** True when the build in `distDir` (Next's, and the server bundle) exists and was made from the current sources. */
export function isBuildCurrent(root: string, distDir: string): boolean {
  const dir = path.join(root, distDir);
  if (!fs.existsSync(path.join(dir, 'BUILD_ID')) || !fs.existsSync(path.join(dir, SERVER_BUNDLE))) return false;
  try {
    return fs.readFileSync(path.join(dir, STAMP_FILE), 'utf8') === sourceHash(root);
  } catch {
    return false;
  }
}

export function writeBuildStamp(root: string, distDir: string): void {
  fs.writeFileSync(path.join(root, distDir, STAMP_FILE), sourceHash(root));
}

/**
 * Builds the web app into `distDir` unless the build there is current (or LOUPE_REBUILD is
 * set), as `npm start` does on a first start. Throws when the build fails.
 */
export function ensureWebBuild(options: {
  root: string;
  distDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  stdio?: 'inherit' | 'stderr';
}): void {
  if (isBuildCurrent(options.root, options.distDir) && !options.env.LOUPE_REBUILD) return;
  options.log(
    `building the web app into ${options.distDir} (on the first start and after the code changed; a minute or two)`,
  );
  // Next adds `<distDir>/types/**/*.ts` to tsconfig.json's include when the folder is not .next;
  // the committed file is put back as it was (the build itself has type-checked by then).
  const tsconfig = path.join(options.root, 'tsconfig.json');
  const committed = fs.readFileSync(tsconfig, 'utf8');
  // Ctrl-C or a kill during the build would end this process before `finally` ran and leave the
  // edited tsconfig.json behind: while it builds a stop signal is held, and given again (to end
  // the process as it would have) once the file is back.
  const held = holdStopSignals();
  let build: ReturnType<typeof spawnSync>;
  try {
    build = spawnSync(process.execPath, [nextBin(options.root), 'build'], {
      cwd: options.root,
      // 'stderr': the build's output goes to stderr, so a command's stdout stays one JSON object.
      stdio: options.stdio === 'stderr' ? ['ignore', 2, 2] : 'inherit',
      env: { ...options.env, LOUPE_NEXT_DIST_DIR: options.distDir, NEXT_TELEMETRY_DISABLED: '1' },
    });
  } finally {
    try {
      if (fs.readFileSync(tsconfig, 'utf8') !== committed) fs.writeFileSync(tsconfig, committed);
    } finally {
      held.release();
    }
  }
  if (build.signal) throw new Error(`the web app build was stopped (${build.signal}); start again to build it.`);
  if (build.status !== 0) throw new Error('the web app build failed (see above).');
  bundleWebServer(options.root, options.distDir);
  writeBuildStamp(options.root, options.distDir);
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Until `release`, a stop signal does not end the process (a listener is there); one that came
 * is given again after release, with the listeners gone, so the process ends by it as before.
 * Node runs signal listeners between turns of the event loop, so one that arrived during a
 * synchronous build is only seen after `release`: the listeners stay for two more turns (in an
 * ES module the first check phase can come before the signal is read), then go. A signal seen
 * once the caller has its own listeners (`npm start` installs its shutdown after the build) has
 * reached those too, and is not given again.
 */
function holdStopSignals(): { release(): void } {
  let received: NodeJS.Signals | null = null;
  let released = false;
  const remove = () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
  const giveAgain = () => {
    remove();
    if (process.listenerCount(received!) === 0) process.kill(process.pid, received!);
  };
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => {
      received ??= signal;
      if (released) giveAgain();
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return {
    release() {
      released = true;
      if (received) giveAgain();
      else setImmediate(() => setImmediate(() => received === null && remove()));
    },
  };
}

/**
 * Bundles scripts/serve-web.ts with the lib/ and db/ modules it imports into
 * `<distDir>/loupe-serve-web.mjs`, packages left as imports (they resolve from node_modules), so
 * the production server runs on plain node. Under tsx it ran with Node's source maps on (tsx
 * turns them on), and Node then parses and keeps the source map of every module it loads, Next's
 * server chunks included: 274-282 MB resident at idle against 127 MB for the bundle, and 247 MB
 * for the bundle run with --enable-source-maps (docs/operations.md). Takes well under a second.
 */
export function bundleWebServer(root: string, distDir: string): void {
  // esbuild is the compiler tsx runs on; loaded here only, so a script that never builds never loads it.
  const require = createRequire(import.meta.url);
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: ['scripts/serve-web.ts'],
    outfile: path.join(distDir, SERVER_BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: 'tsconfig.json',
    logLevel: 'error',
    banner: { js: '// Built from scripts/serve-web.ts by scripts/lib/web-build.ts (bundleWebServer); do not edit.' },
  });
}

export function nextBin(root: string): string {
  return path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');
}

/**
 * How long `next start` keeps an idle connection (Node's default is 5 s). Scripted clients
 * reuse connections; with the server's 5 s a client could send on a connection at the moment
 * the server closed it (a reset under load). Passed by npm start and the simulator.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * The production web server's arguments after `node`, for `npm start` and the benchmarks alike:
 * Next behind scripts/serve-web.ts, run from its bundle in `distDir` (bundleWebServer). A young
 * generation of 4 MB semi-spaces instead of V8's 16 MB: the server's requests make small,
 * short-lived garbage, and the smaller nursery kept it at 249 MB resident under 200 paced
 * reviewers instead of 275 MB, at the same decisions/s. An old space of `heapMb`
 * (LOUPE_WEB_HEAP_MB, 192 by default): with a limit set, V8 sizes the heap to it and collects
 * sooner, 155 MB resident under that load instead of 263 MB (docs/operations.md).
 */
export function webServerArgs(
  port: string | number,
  options: { distDir: string; hostname?: string; heapMb: number },
): string[] {
  const { distDir, hostname, heapMb } = options;
  return [
    '--max-semi-space-size=4',
    `--max-old-space-size=${heapMb}`,
    path.join(distDir, SERVER_BUNDLE),
    '-p',
    String(port),
    ...(hostname ? ['--hostname', hostname] : []),
    '--keepAliveTimeout',
    String(KEEP_ALIVE_TIMEOUT_MS),
  ];
}
