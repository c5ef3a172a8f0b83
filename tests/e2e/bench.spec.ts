import { expect, test } from './fixtures';
import { E2E } from './e2e-env';
import { runScript } from '../run-script';

// `npm run bench`'s sections that start Loupe (queue: a web server on a synthetic catalogue
// with concurrent reviewers over HTTP; memory: a short simulation with the worker), from the
// build the e2e server just made. They check that the figures are there and well-formed,
// never how fast: timing goals belong to the benchmark, not the tests.

const bench = (args: string[]) => runScript('bench', args);

test("--quick --only queue,memory measures the queue API over HTTP and both processes' peak memory, as one JSON object", async () => {
  test.setTimeout(240_000);
  const { code, stdout, stderr } = await bench(['--quick', '--only', 'queue,memory', '--build-dir', E2E.distDir]);
  expect(code, stderr).toBe(0);
  // The whole of stdout is one object: progress went to stderr.
  const report = JSON.parse(stdout);
  expect(report.archs).toEqual({});
  expect(report.import).toBeUndefined();

  const { queue } = report;
  expect(queue).toMatchObject({
    items: 2_000,
    reviewers: 5,
    roundsPerReviewer: 3,
    errors: 0,
    errorSamples: [],
    emptyClaims: 0,
  });
  expect(queue.decisions).toBe(15);
  for (const part of [queue.claim, queue.submit]) {
    expect(part.count).toBe(15);
    for (const key of ['p50Ms', 'p99Ms', 'meanMs', 'maxMs']) expect(part[key], key).toBeGreaterThan(0);
    expect(part.p99Ms).toBeGreaterThanOrEqual(part.p50Ms);
  }
  expect(queue.decisionsPerSecond).toBeGreaterThan(0);
  expect(queue.webMemory.peakRssMb).toBeGreaterThan(0);
  // The hot routes answered by the production server, and the same loop through Next for the ratio.
  expect(queue.queueRoutes).toBe('direct');
  expect(queue.throughNext).toMatchObject({ queueRoutes: 'next', decisions: 15, errors: 0 });

  // Issue 19's paced load in quick form (10 focus reviewers at 1/s for 3 s, 3 on the grid) and the
  // in-process database time: every decision recorded, no error, no item served twice.
  const { focus, grid } = queue.paced;
  expect(focus).toMatchObject({ mode: 'focus', reviewers: 10, errors: 0, doubleServes: 0, emptyClaims: 0 });
  expect(focus.decisions).toBe(30);
  // Each reviewer's first claim (through Next's session read) is counted apart from the rest.
  expect(focus.firstClaim.count).toBe(10);
  expect(focus.claim.count).toBe(20);
  expect(queue.paced.webRssMb).toBeGreaterThan(0);
  expect(grid).toMatchObject({ mode: 'grid', reviewers: 3, errors: 0, doubleServes: 0 });
  expect(grid.decisions).toBeGreaterThan(0);
  expect(queue.db).toMatchObject({ items: 5_000, emptyClaims: 0 });
  expect(queue.db.claim.count).toBe(200);
  expect(queue.db.submit.count).toBe(200);
  expect(queue.db.gridClaim.count).toBe(10);
  expect(queue.db.mixedIn.gold + queue.db.mixedIn.audit).toBeGreaterThan(0);

  const { memory } = report;
  expect(memory.web.peakRssMb).toBeGreaterThan(0);
  expect(memory.worker.peakRssMb).toBeGreaterThan(0);
  expect(memory.webUnderQueueLoad).toEqual(queue.webMemory);
  expect(memory.run).toMatchObject({ items: 300, reviewers: 3 });
  expect(memory.run.decisions).toBeGreaterThan(0);
  expect(memory.run.modelVersions[0]).toMatchObject({ name: 'base-cnn', status: 'active' });
  expect(report.notes.some((note: string) => note.startsWith('queue:'))).toBe(true);
});
