import { expect, it } from 'vitest';
import { measureScoring } from '@/scripts/bench/score';
import { sqliteOnly } from '../../test-database';

/*
 * The bench's `score` section on a few hundred items: the whole path ran (every item scored and
 * routed or, for gold items, given its prediction), the parts were timed, and the scoring
 * process's memory was sampled while it scored.
 */
// The benchmark's fixture writes with better-sqlite3: SQLite only, like the benchmarks.
sqliteOnly.describe('bench score', () => {
  it('scores every item of the temp database in a child process and says where the time went', async () => {
    const report = await measureScoring({
      items: 600,
      modelDir: 'models/production',
      datasetDir: 'datasets/fashion-mnist',
      log: () => {},
    });
    expect(report.scorer).toMatch(/^onnxruntime-node /);
    expect(report.result).toMatchObject({ scored: 594, gold: 6 });
    expect(report.statuses.unscored).toBeUndefined();
    expect((report.statuses.auto_accepted ?? 0) + (report.statuses.needs_review ?? 0)).toBe(594);
    expect(report.statuses.reviewed).toBe(6);
    expect(report.itemsPerSecond).toBeGreaterThan(0);
    expect(report.cpuSecondsPer1000).toBeGreaterThan(0);
    expect(report.mainThreadCpuSecondsPer1000).toBeLessThanOrEqual(report.cpuSecondsPer1000);
    expect(report.breakdown).toMatchObject({ chunks: 1 });
    for (const part of ['readSeconds', 'predictSeconds', 'calibrateSeconds', 'writeSeconds'])
      expect(report.breakdown![part], part).toBeGreaterThan(0);
    expect(report.memory!.peakRssMb).toBeGreaterThanOrEqual(report.memory!.beforeRssMb);
    expect(report.memory!.startupRssMb).toBeGreaterThan(0);
  }, 180_000);
});
