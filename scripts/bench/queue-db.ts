import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { settings } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { recordGrid, submitReview } from '@/lib/review/decisions';
import { claimBatch, claimNext } from '@/lib/review/queue';
import { fillSyntheticCatalogue, type QueueShape, type SyntheticCatalogue } from '@/scripts/bench/catalogue-fixture';
import { latencyFigures, type LatencyFigures } from '@/scripts/bench/queue-latency';

/**
 * The queue's database time alone: `lib/` claim and submit functions called in-process on a temp
 * database holding a synthetic catalogue of `itemCount` items shaped like issue 19's (20% waiting
 * for review, audit and gold mixing on). No HTTP, no session: what SQLite and the queue's own
 * code cost per call. Reviewers take turns (one call at a time, as the one connection serialises
 * them anyway); each round is a focus-view claim and confirm, and every `gridEvery`-th round a
 * grid claim of `gridSize` and one grid submit.
 */
export interface QueueDbOptions {
  itemCount: number;
  reviewers: number;
  /** Focus-view claim + submit pairs timed (after `warmup` untimed ones). */
  decisions: number;
  warmup: number;
  gridSize: number;
  /** Grid claim + grid submit pairs timed. */
  grids: number;
  /** A migrated, filled database to copy instead of filling one (a 1M-item fill takes minutes). */
  template?: string;
  /** Extra pragmas for the bench connection (experiments: e.g. `cache_size = -65536`). */
  pragmas?: string[];
  log: (line: string) => void;
}

export interface QueueDbReport {
  items: number;
  shape: QueueShape;
  reviewers: number;
  claim: LatencyFigures;
  submit: LatencyFigures;
  gridClaim: LatencyFigures & { size: number };
  gridSubmit: LatencyFigures;
  /** Claims that found nothing for the reviewer (must stay 0 on a queue this size). */
  emptyClaims: number;
  /** How many of the timed claims were audit or gold items (the mix-in at work). */
  mixedIn: { audit: number; gold: number };
  /** migrate: migrations the copied template lacked (e.g. a template older than the schema). */
  setupSeconds: { fill: number; migrate: number };
}

export const QUEUE_SHAPE: QueueShape = { waiting: 0.2, audit: 0.05, gold: 2_000 };
const GOLD_RATE = 0.05;

const seconds = (since: number) => Math.round((performance.now() - since) / 10) / 100;

/** A migrated database with the synthetic 1M-shaped catalogue in `file`. */
export async function fillQueueDatabase(file: string, itemCount: number): Promise<SyntheticCatalogue> {
  const db = openDb(file);
  try {
    await migrateDb(db);
    const catalogue = await fillSyntheticCatalogue(db, { itemCount, queue: QUEUE_SHAPE });
    await db
      .insert(settings)
      .values({ catalogueId: catalogue.catalogueId, goldRate: GOLD_RATE })
      .onConflictDoUpdate({ target: settings.catalogueId, set: { goldRate: GOLD_RATE } });
    return catalogue;
  } finally {
    db.$client.pragma('wal_checkpoint(TRUNCATE)');
    db.$client.close();
  }
}

export async function measureQueueDb(options: QueueDbOptions): Promise<QueueDbReport> {
  const { log } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-queue-db-'));
  try {
    const file = path.join(dir, 'loupe.db');
    const fillStarted = performance.now();
    if (options.template) fs.copyFileSync(options.template, file);
    else await fillQueueDatabase(file, options.itemCount);
    const fill = seconds(fillStarted);
    log(`queue-db: ${options.itemCount} items ${options.template ? 'copied' : 'filled'} in ${fill} s`);
    const db = openDb(file);
    for (const pragma of options.pragmas ?? []) db.$client.pragma(pragma);
    try {
      const migrateStarted = performance.now();
      await migrateDb(db);
      const migrate = seconds(migrateStarted);
      return { ...(await drive(db, options)), setupSeconds: { fill, migrate } };
    } finally {
      db.$client.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function drive(db: Db, options: QueueDbOptions): Promise<Omit<QueueDbReport, 'setupSeconds'>> {
  const catalogueId = db.$client.prepare("select id from catalogues where slug = 'bench'").pluck().get() as number;
  const reviewers: Actor[] = [];
  for (let i = 1; i <= options.reviewers; i++) {
    const user = await createUserAsSystem(db, {
      email: `queue-db-${i}-${Date.now()}@loupe.bench`,
      name: `Queue DB ${i}`,
      password: 'bench password 1',
      role: 'reviewer',
      passwordCost: 4,
    });
    reviewers.push({ userId: user.id, role: user.role, email: user.email });
  }
  const roleOf = db.$client.prepare('select routing_reason as reason, eval_role as role from items where id = ?');
  const claims: number[] = [];
  const submits: number[] = [];
  const mixedIn = { audit: 0, gold: 0 };
  let emptyClaims = 0;
  let sequence = 0;
  const total = options.warmup + options.decisions;
  for (let i = 0; i < total; i++) {
    const actor = reviewers[i % reviewers.length]!;
    const timed = i >= options.warmup;
    let t = performance.now();
    const item = await claimNext(db, { actor, catalogueId });
    if (timed) claims.push(performance.now() - t);
    if (!item) {
      emptyClaims++;
      continue;
    }
    if (timed) {
      const row = roleOf.get(item.itemId) as { reason: string | null; role: string | null };
      if (row.role === 'gold') mixedIn.gold++;
      else if (row.reason === 'audit') mixedIn.audit++;
    }
    t = performance.now();
    await submitReview(db, {
      actor,
      itemId: item.itemId,
      action: 'confirm',
      clientId: `queue-db-${++sequence}-${actor.userId}`,
      durationMs: 1000,
      modelVersionId: item.modelVersionId,
    });
    if (timed) submits.push(performance.now() - t);
    if (i > 0 && i % 2000 === 0) options.log(`queue-db: ${i}/${total} decisions`);
  }

  const gridClaims: number[] = [];
  const gridSubmits: number[] = [];
  for (let g = 0; g < options.grids; g++) {
    const actor = reviewers[g % reviewers.length]!;
    let t = performance.now();
    const batch = await claimBatch(db, { actor, catalogueId, predictedClass: g % 10, size: options.gridSize });
    gridClaims.push(performance.now() - t);
    if (batch.length === 0) continue;
    t = performance.now();
    await recordGrid(db, {
      actor,
      catalogueId,
      now: Date.now(),
      decisions: batch.map((item) => ({
        itemId: item.itemId,
        label: null,
        clientId: `queue-db-grid-${++sequence}-${item.itemId}`,
        durationMs: 500,
        modelVersionId: item.modelVersionId,
      })),
    });
    gridSubmits.push(performance.now() - t);
  }
  return {
    items: options.itemCount,
    shape: QUEUE_SHAPE,
    reviewers: options.reviewers,
    claim: latencyFigures(claims, 3),
    submit: latencyFigures(submits, 3),
    gridClaim: { ...latencyFigures(gridClaims, 3), size: options.gridSize },
    gridSubmit: latencyFigures(gridSubmits, 3),
    emptyClaims,
    mixedIn,
  };
}
