import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What the web build is made from; a change to any of it means the build is stale. */
const SOURCES = ['app', 'lib', 'db', 'types', 'proxy.ts', 'next.config.ts', 'postcss.config.mjs', 'package-lock.json', 'tsconfig.json'];
const STAMP_FILE = 'loupe-source-hash';

function addTree(hash: ReturnType<typeof createHash>, target: string): void {
  if (!fs.existsSync(target)) return;
  const stat = fs.statSync(target);
  if (stat.isDirectory()) {
    for (const entry of fs.readdirSync(target).sort()) addTree(hash, path.join(target, entry));
    return;
  }
  hash.update(target).update('\0').update(fs.readFileSync(target)).update('\0');
}

export function sourceHash(root: string): string {
  const hash = createHash('sha256');
  for (const source of SOURCES) addTree(hash, path.join(root, source));
  return hash.digest('hex');
}

/** True when the build in `distDir` exists and was made from the current sources. */
export function isBuildCurrent(root: string, distDir: string): boolean {
  const dir = path.join(root, distDir);
  if (!fs.existsSync(path.join(dir, 'BUILD_ID'))) return false;
  try {
    return fs.readFileSync(path.join(dir, STAMP_FILE), 'utf8') === sourceHash(root);
  } catch {
    return false;
  }
}

export function writeBuildStamp(root: string, distDir: string): void {
  fs.writeFileSync(path.join(root, distDir, STAMP_FILE), sourceHash(root));
}
