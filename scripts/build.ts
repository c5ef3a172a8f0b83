/**
 * `npm run build`: the web app's production build into LOUPE_NEXT_DIST_DIR (default `.next`):
 * Next's build, the web server's bundle beside it, and the stamp `npm start` compares with the
 * sources. Always builds; `npm start` builds only when the sources changed.
 */
import { ensureWebBuild } from '@/scripts/lib/web-build';
import { runCli } from '@/scripts/cli';

await runCli(async () => {
  const distDir = process.env.LOUPE_NEXT_DIST_DIR ?? '.next';
  ensureWebBuild({
    root: process.cwd(),
    distDir,
    env: { ...process.env, LOUPE_REBUILD: '1' },
    log: (line) => console.log(`[build] ${line}`),
  });
  console.log(`[build] ${distDir} is current`);
});
