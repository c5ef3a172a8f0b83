import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { percentile } from '@/scripts/sim/metrics';

/**
 * Where a review request's server time goes, part by part, in-process (issue 19): the parts of
 * next-auth's session read (what getServerSession runs per request: decode the cookie, the jwt
 * callback's database check, encode the renewed cookie), and the cached path getCurrentActor
 * takes instead (the database check alone). Subtracted from a request's time
 * over HTTP, what is left is Next's routing, the body, zod and the claim or submit itself
 * (queue.db). Prints one JSON object: median and p99 microseconds per part.
 *
 *   npx tsx scripts/bench/queue-http-parts.ts [--runs 2000]
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-http-parts-'));
process.env.LOUPE_DB = path.join(dir, 'loupe.db');
process.env.NEXTAUTH_URL = 'http://localhost:3000';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 2000);

try {
  const { getDb } = await import('@/db/client');
  const { migrateDb } = await import('@/db/migrate');
  const { createUserAsSystem, sessionActor } = await import('@/lib/auth/users');
  const { getAuthSecret } = await import('@/lib/auth/auth-secret');
  const { decode, encode } = await import('next-auth/jwt');
  await migrateDb(getDb());
  const user = await createUserAsSystem(getDb(), {
    email: 'parts@loupe.bench',
    name: 'Parts',
    role: 'reviewer',
    password: 'bench password 1',
    passwordCost: 4,
  });
  const secret = getAuthSecret();
  const sessionVersion = getDb()
    .$client.prepare('select session_version from users where id = ?')
    .pluck()
    .get(user.id) as number;
  const claims = {
    sub: String(user.id),
    email: user.email,
    name: 'Parts',
    userId: user.id,
    role: 'reviewer' as const,
    sessionVersion,
  };
  const token = await encode({ token: claims, secret });

  const time = async (fn: () => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      samples.push((performance.now() - t) * 1000);
    }
    return { p50Us: Math.round(percentile(samples, 50)!), p99Us: Math.round(percentile(samples, 99)!) };
  };
  const report = {
    runs,
    // What next-auth's session read does per request: decode, the jwt callback's check, encode the renewed cookie.
    sessionRead: await time(async () => {
      const decoded = await decode({ token, secret: getAuthSecret() });
      await sessionActor(getDb(), { userId: Number(decoded!.userId), sessionVersion: Number(decoded!.sessionVersion) });
      await encode({ token: decoded!, secret: getAuthSecret() });
    }),
    decodeOnly: await time(() => decode({ token, secret })),
    encodeOnly: await time(() => encode({ token: claims, secret })),
    // getCurrentActor's cached path: the database check alone.
    cachedCheck: await time(() => sessionActor(getDb(), { userId: user.id, sessionVersion })),
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
