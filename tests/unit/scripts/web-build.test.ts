import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  bundleWebServer,
  isBuildCurrent,
  SERVER_BUNDLE,
  webServerArgs,
  writeBuildStamp,
} from '@/scripts/lib/web-build';

const root = path.resolve(import.meta.dirname, '../../..');
// Inside the repository, as a real build folder is: the bundle's package imports resolve from node_modules.
const distDir = path.join('node_modules', '.cache', 'loupe', `web-build-test-${process.pid}`);
afterAll(() => fs.rmSync(path.join(root, distDir), { recursive: true, force: true }));

describe('the production web server bundle', () => {
  it('is plain JavaScript that node loads without tsx, with lib/ inside and packages outside', () => {
    bundleWebServer(root, distDir);
    const bundle = path.join(root, distDir, SERVER_BUNDLE);
    const text = fs.readFileSync(bundle, 'utf8');
    expect(text).toContain('// lib/http/node-json-routes.ts');
    expect(text).toMatch(/from "next"/);
    expect(text).not.toMatch(/from "@\//);
    // Node itself parses it (no loader); --check reads the syntax without running the server.
    const checked = spawnSync(process.execPath, ['--check', bundle], { encoding: 'utf8' });
    expect(checked.status, checked.stderr).toBe(0);
  });

  it('the server is started from the bundle in the build folder, not through tsx', () => {
    const args = webServerArgs(3000, { distDir: '.next', heapMb: 192 });
    expect(args).toContain(path.join('.next', SERVER_BUNDLE));
    // The heap limit comes before the script, where node reads its own flags.
    expect(args.indexOf('--max-old-space-size=192')).toBeLessThan(args.indexOf(path.join('.next', SERVER_BUNDLE)));
    expect(args).not.toContain('tsx');
    expect(args.slice(args.indexOf('-p'), args.indexOf('-p') + 2)).toEqual(['-p', '3000']);
  });

  it('a build folder without the bundle is not current, even with a matching stamp', () => {
    const dir = path.join(root, distDir);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'BUILD_ID'), 'test');
    writeBuildStamp(root, distDir);
    bundleWebServer(root, distDir);
    expect(isBuildCurrent(root, distDir)).toBe(true);
    fs.rmSync(path.join(dir, SERVER_BUNDLE));
    expect(isBuildCurrent(root, distDir)).toBe(false);
  });

  it('Ctrl-C during the build leaves tsconfig.json as it was, and still ends the process', async () => {
    // A "next build" that runs until stopped.
    const fake = fakeBuildRoot(`fs.writeFileSync('building', '');
setInterval(() => {}, 1000);`);
    try {
      const runner = path.join(fake, 'runner.mts');
      fs.writeFileSync(
        runner,
        `import { ensureWebBuild } from ${JSON.stringify(path.join(root, 'scripts/lib/web-build.ts'))};
ensureWebBuild({ root: ${JSON.stringify(fake)}, distDir: 'build', env: process.env, log: () => {} });
`,
      );
      // Its own process group, as a terminal's: Ctrl-C reaches the build and the command both.
      const child = spawn(process.execPath, ['--import', 'tsx', runner], {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      for (let i = 0; i < 300 && !fs.existsSync(path.join(fake, 'building')); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(fs.readFileSync(path.join(fake, 'tsconfig.json'), 'utf8')).toContain('build/types');
      process.kill(-child.pid!, 'SIGINT');
      const { code, signal } = await ended;
      expect(fs.readFileSync(path.join(fake, 'tsconfig.json'), 'utf8')).toBe('{ "include": ["app"] }\n');
      // Ended, with a sentence: not carried on as if the build had finished.
      expect({ code, signal }).toEqual({ code: 1, signal: null });
      expect(stderr).toMatch(/the web app build was stopped \(SIGINT\); start again to build it/);
    } finally {
      fs.rmSync(fake, { recursive: true, force: true });
    }
  }, 60_000);

  it('a kill of the command alone during the build is held until tsconfig.json is back, then ends it', async () => {
    // `kill <pid>` or a container stop: only the command gets the signal, the build goes on and ends.
    const fake = fakeBuildRoot(`process.kill(process.ppid, 'SIGTERM');
setTimeout(() => process.exit(0), 500);`);
    try {
      const runner = path.join(fake, 'runner.mts');
      // The build "succeeds" and the bundle step after it fails in this stand-in root: caught, so
      // only the held signal can end the process, and the timer would keep it alive for 20 s.
      fs.writeFileSync(
        runner,
        `import fs from 'node:fs';
import { ensureWebBuild } from ${JSON.stringify(path.join(root, 'scripts/lib/web-build.ts'))};
try {
  ensureWebBuild({ root: ${JSON.stringify(fake)}, distDir: 'build', env: process.env, log: () => {} });
} catch {}
console.log(fs.readFileSync(${JSON.stringify(path.join(fake, 'tsconfig.json'))}, 'utf8').trim());
setTimeout(() => {}, 20_000);
`,
      );
      const result = await new Promise<{ signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', runner], {
          cwd: root,
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk) => (stdout += chunk));
        child.on('exit', (_code, signal) => resolve({ signal, stdout }));
      });
      expect(result.stdout.trim()).toBe('{ "include": ["app"] }');
      expect(result.signal).toBe('SIGTERM');
    } finally {
      fs.rmSync(fake, { recursive: true, force: true });
    }
  }, 60_000);

  describe('LOUPE_WEB_HEAP_MB', () => {
    const before = process.env.LOUPE_WEB_HEAP_MB;
    afterEach(() => {
      if (before === undefined) delete process.env.LOUPE_WEB_HEAP_MB;
      else process.env.LOUPE_WEB_HEAP_MB = before;
      vi.resetModules();
    });
    const freshEnv = async () => {
      vi.resetModules();
      return (await import('@/lib/env')).getEnv;
    };

    it('is 192 MB unless set', async () => {
      delete process.env.LOUPE_WEB_HEAP_MB;
      expect((await freshEnv())().LOUPE_WEB_HEAP_MB).toBe(192);
      process.env.LOUPE_WEB_HEAP_MB = '512';
      expect((await freshEnv())().LOUPE_WEB_HEAP_MB).toBe(512);
    });

    it('refuses a value too small for the server to start, naming the variable', async () => {
      process.env.LOUPE_WEB_HEAP_MB = '50';
      const getEnv = await freshEnv();
      expect(() => getEnv()).toThrow(/LOUPE_WEB_HEAP_MB/);
    });
  });
});

/**
 * A stand-in repository root whose "next build" first edits tsconfig.json as Next does (adding
 * its types folder), then runs `then` (CommonJS, with `fs` in scope).
 */
function fakeBuildRoot(then: string): string {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-build-signal-'));
  const nextDir = path.join(fake, 'node_modules', 'next', 'dist', 'bin');
  fs.mkdirSync(nextDir, { recursive: true });
  fs.writeFileSync(path.join(fake, 'tsconfig.json'), '{ "include": ["app"] }\n');
  fs.writeFileSync(
    path.join(nextDir, 'next'),
    `const fs = require('node:fs');
fs.writeFileSync('tsconfig.json', '{ "include": ["app", "build/types/**/*.ts"] }\\n');
${then}
`,
  );
  return fake;
}
