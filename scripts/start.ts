import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { catalogues } from '@/db/schema';
import { getEnv } from '@/lib/env';
import { scoreUnscoredItems } from '@/lib/scoring';
import { seedDemoIfEmpty, seedDemoUsersIfNone } from '@/lib/seed';

/**
 * `npm start`: migrate, seed the demo on an empty database, score, then serve the web app
 * and run the worker until interrupted. One command on a fresh clone.
 */
const port = process.env.PORT ?? '3000';
const log = (line: string) => console.log(`[start] ${line}`);

const db = getDb();
migrateDb(db);
log(`database ${getEnv().LOUPE_DB}`);
if (await seedDemoIfEmpty(db, log)) log('seeded the demo catalogue');
const demoUsers = await seedDemoUsersIfNone(db);
if (demoUsers.length > 0) {
  log('created demo users (demo only: change or disable them before real use):');
  for (const user of demoUsers) log(`  ${user.role.padEnd(8)} ${user.email}  password: ${user.password}`);
}
for (const catalogue of db.select().from(catalogues).all()) {
  const result = await scoreUnscoredItems(db, {
    catalogueId: catalogue.id,
    onProgress: (done, total) => process.stdout.write(`\r[start] ${catalogue.slug}: scoring ${done}/${total}`),
  });
  if (result.scored > 0) process.stdout.write('\n');
  if (result.scored > 0) log(`${catalogue.slug}: ${result.autoAccepted} auto-accepted, ${result.needsReview} to review`);
}

// Next's anonymous telemetry would try to reach the internet; Loupe runs where it cannot.
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXTAUTH_URL: process.env.NEXTAUTH_URL ?? `http://localhost:${port}` };
const nextBin = path.join(process.cwd(), 'node_modules', 'next', 'dist', 'bin', 'next');
if (!fs.existsSync(path.join(process.cwd(), '.next', 'BUILD_ID')) || process.env.LOUPE_REBUILD) {
  log('building the web app (first start only; takes a minute or two)');
  const build = spawnSync(process.execPath, [nextBin, 'build'], { stdio: 'inherit', env });
  if (build.status !== 0) {
    console.error('error: the web app build failed (see above).');
    process.exit(1);
  }
}

const children: ChildProcess[] = [
  spawn(process.execPath, [nextBin, 'start', '-p', port], { stdio: 'inherit', env }),
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
