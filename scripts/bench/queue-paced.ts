import { randomBytes } from 'node:crypto';
import type { ClaimedItemJson as ClaimedItem } from '@/lib/review/claimed-item';
import type { LoupeClient } from '@/scripts/sim/http-client';
import { latencyFigures, type LatencyFigures } from '@/scripts/bench/queue-latency';

/**
 * Reviewers at a human pace, as an open loop: each reviewer starts a decision every
 * `intervalMs` on a fixed schedule (offset per reviewer so they do not all fire at once), whether
 * or not their last submit has been answered, and a claim's latency runs from its scheduled time,
 * so a slow server is charged for every request it delays (no coordinated omission). One thing
 * a page never does is not done either: a reviewer's next claim goes out once their previous
 * claim is answered (a page shows one item at a time; two claims in flight would both be
 * answered with the reviewer's held item, by design), late if need be, its latency still counted
 * from the schedule. Focus reviewers claim one item (naming the one whose submit is in flight as
 * `holding`) and confirm it; grid reviewers claim a batch of `gridSize` of one class and submit it.
 *
 * Double-serves: an item handed to a reviewer while another reviewer's claim of it is
 * undecided, or handed again to a reviewer who already had it (a confirmed item never comes
 * back; a gold item comes back to other reviewers, one at a time). Must be 0, as must errors
 * (any failed call, 409s included).
 */
export interface PacedOptions {
  clients: LoupeClient[];
  slug: string;
  mode: 'focus' | 'grid';
  /** One decision (focus) or one grid (grid) per reviewer per interval. */
  intervalMs: number;
  durationMs: number;
  gridSize?: number;
  classCount?: number;
}

export interface PacedReport {
  mode: 'focus' | 'grid';
  reviewers: number;
  intervalMs: number;
  durationSeconds: number;
  /** Every claim but each reviewer's first. */
  claim: LatencyFigures;
  /**
   * Each reviewer's first claim of the run: a session's first review request goes through Next's
   * full session read (lib/http/node-json-routes.ts), and here all of them fall in the first
   * interval, which no team does at once; counted apart so neither hides the other.
   */
  firstClaim: LatencyFigures;
  submit: LatencyFigures;
  decisions: number;
  decisionsPerSecond: number;
  /** Claims answered with nothing: the queue (or the class) had nothing left for that reviewer. */
  emptyClaims: number;
  errors: number;
  errorSamples: string[];
  doubleServes: number;
  /** How late the load generator itself sent claims (its own event loop): large values mean the figures are the generator's. */
  sendLagP99Ms: number | null;
}

const ERROR_SAMPLES = 5;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runPacedLoad(options: PacedOptions): Promise<PacedReport> {
  const { clients, slug, mode, intervalMs, durationMs } = options;
  const gridSize = options.gridSize ?? 25;
  const classCount = options.classCount ?? 10;
  const claims: number[] = [];
  const firstClaims: number[] = [];
  const claimedBefore = new Set<number>();
  /** A reviewer's first claim of the run is counted apart: see PacedReport.firstClaim. */
  const recordClaim = (reviewer: number, ms: number) => {
    if (claimedBefore.has(reviewer)) claims.push(ms);
    else {
      claimedBefore.add(reviewer);
      firstClaims.push(ms);
    }
  };
  const submits: number[] = [];
  const sendLags: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let emptyClaims = 0;
  let decisions = 0;
  let doubleServes = 0;
  const runId = randomBytes(4).toString('hex');
  let sequence = 0;
  /** item -> reviewer holding an undecided claim of it */
  const inFlight = new Map<number, number>();
  const served = new Set<string>();
  const fail = (error: unknown) => {
    errors++;
    if (errorSamples.length < ERROR_SAMPLES) errorSamples.push(error instanceof Error ? error.message : String(error));
  };
  const handOut = (reviewer: number, itemId: number) => {
    const holder = inFlight.get(itemId);
    if ((holder !== undefined && holder !== reviewer) || served.has(`${reviewer}:${itemId}`)) doubleServes++;
    inFlight.set(itemId, reviewer);
    served.add(`${reviewer}:${itemId}`);
  };
  const settle = (reviewer: number, itemId: number) => {
    if (inFlight.get(itemId) === reviewer) inFlight.delete(itemId);
  };
  /** Items each reviewer has claimed and not yet decided: sent as `holding`, as the page does for a prefetch. */
  const holding = clients.map(() => new Set<number>());
  /** Each reviewer's last claim: the next one waits for its answer. */
  const lastClaim: Promise<unknown>[] = clients.map(() => Promise.resolve());
  const afterPreviousClaim = <T>(reviewer: number, claim: () => Promise<T>): Promise<T> => {
    const next = lastClaim[reviewer]!.then(claim, claim);
    lastClaim[reviewer] = next.catch(() => undefined);
    return next;
  };

  const focusCycle = async (reviewer: number, scheduled: number) => {
    const client = clients[reviewer]!;
    let item: ClaimedItem | null;
    try {
      const answer = await afterPreviousClaim(reviewer, () => {
        sendLags.push(performance.now() - scheduled);
        return client.post<{ item: ClaimedItem | null }>('/api/v1/queue/claim', {
          catalogue: slug,
          holding: [...holding[reviewer]!].slice(0, 5),
        });
      });
      item = answer.item;
      recordClaim(reviewer, performance.now() - scheduled);
    } catch (error) {
      fail(error);
      return;
    }
    if (!item) {
      emptyClaims++;
      return;
    }
    handOut(reviewer, item.itemId);
    holding[reviewer]!.add(item.itemId);
    try {
      const t = performance.now();
      await client.post('/api/v1/reviews', {
        itemId: item.itemId,
        action: 'confirm',
        clientId: `paced-${runId}-${++sequence}`,
        durationMs: intervalMs,
        ...(item.modelVersionId ? { modelVersionId: item.modelVersionId } : {}),
      });
      submits.push(performance.now() - t);
      decisions++;
    } catch (error) {
      fail(error);
    } finally {
      holding[reviewer]!.delete(item.itemId);
      settle(reviewer, item.itemId);
    }
  };

  const gridCycle = async (reviewer: number, scheduled: number, round: number) => {
    const client = clients[reviewer]!;
    let items: ClaimedItem[];
    try {
      const answer = await afterPreviousClaim(reviewer, () => {
        sendLags.push(performance.now() - scheduled);
        return client.post<{ items: ClaimedItem[] }>('/api/v1/queue/claim-batch', {
          catalogue: slug,
          predictedClass: (reviewer + round) % classCount,
          size: gridSize,
        });
      });
      items = answer.items;
      recordClaim(reviewer, performance.now() - scheduled);
    } catch (error) {
      fail(error);
      return;
    }
    if (items.length === 0) {
      emptyClaims++;
      return;
    }
    for (const item of items) handOut(reviewer, item.itemId);
    try {
      const t = performance.now();
      const answer = await client.post<{ results: { status: string }[] }>('/api/v1/reviews/grid', {
        catalogue: slug,
        decisions: items.map((item) => ({
          itemId: item.itemId,
          label: null,
          clientId: `paced-${runId}-${++sequence}`,
          durationMs: Math.round(intervalMs / items.length),
          ...(item.modelVersionId ? { modelVersionId: item.modelVersionId } : {}),
        })),
      });
      submits.push(performance.now() - t);
      const lost = answer.results.filter((r) => r.status !== 'recorded').length;
      decisions += answer.results.length - lost;
      if (lost > 0) fail(new Error(`${lost} grid decisions lost their hold`));
    } catch (error) {
      fail(error);
    } finally {
      for (const item of items) settle(reviewer, item.itemId);
    }
  };

  // One timer for the next due cycle, not one per cycle: with 12,000 timers set at once Node fired
  // them 7 ms late at the median with nothing else to do (10 ms at p99), time the claims were
  // charged for; walking a sorted schedule fires them 0.6 ms late (measured on this machine).
  const schedule: { at: number; reviewer: number; round: number }[] = [];
  clients.forEach((_, reviewer) => {
    const offset = (intervalMs * reviewer) / clients.length;
    for (let round = 0; offset + round * intervalMs < durationMs; round++) {
      schedule.push({ at: offset + round * intervalMs, reviewer, round });
    }
  });
  schedule.sort((a, b) => a.at - b.at);
  const started = performance.now();
  const cycles: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      const elapsed = performance.now() - started;
      for (; next < schedule.length && schedule[next]!.at <= elapsed; next++) {
        const { at, reviewer, round } = schedule[next]!;
        const scheduled = started + at;
        cycles.push(mode === 'focus' ? focusCycle(reviewer, scheduled) : gridCycle(reviewer, scheduled, round));
      }
      if (next >= schedule.length) resolve();
      else setTimeout(tick, Math.max(0, schedule[next]!.at - (performance.now() - started)));
    };
    tick();
  });
  await Promise.all(cycles);
  const wallSeconds = (performance.now() - started) / 1000;
  const lag = latencyFigures(sendLags);
  return {
    mode,
    reviewers: clients.length,
    intervalMs,
    durationSeconds: round(durationMs / 1000, 1),
    claim: latencyFigures(claims),
    firstClaim: latencyFigures(firstClaims),
    submit: latencyFigures(submits),
    decisions,
    decisionsPerSecond: round(decisions / wallSeconds, 1),
    emptyClaims,
    errors,
    errorSamples,
    doubleServes,
    sendLagP99Ms: lag.p99Ms,
  };
}
