import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
// The Debian package dataset-fashion-mnist (.ci/run installs it): the train split is needed.
const DATASET = '/usr/share/datasets/fashion-mnist';

function compare(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/compare.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `npm run compare` as a user runs it, on Fashion-MNIST's IDX files. */
describe('npm run compare', () => {
  it('refuses an unknown schedule or selection with a sentence and the usage, before loading any data', () => {
    const schedule = compare(['--idx', DATASET, '--schedule', 'weekly']);
    expect(schedule.status).toBe(1);
    expect(schedule.stderr).toMatch(/schedule/);
    expect(schedule.stderr).not.toMatch(/\n\s+at /);
    const select = compare(['--idx', DATASET, '--select', 'f1']);
    expect(select.status).toBe(1);
    expect(select.stderr).toMatch(/select/);
    const replicas = compare(['--idx', DATASET, '--replicas', '0']);
    expect(replicas.status).toBe(1);
    expect(replicas.stderr).toMatch(/replicas/);
  });

  it('trains with the schedule, selection and threads asked for, and says so in the JSON', () => {
    const run = compare([
      '--idx',
      DATASET,
      '--archs',
      'logreg',
      '--epochs',
      '8',
      '--train-limit',
      '2000',
      '--test-limit',
      '300',
      '--schedule',
      'cosine',
      '--select',
      'loss',
      '--replicas',
      '1',
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      settings: { schedule: string; selectBy: string; replicas: number };
      rows: { arch: string; accuracy: number; epochsRun: number; evaluation: { n: number } }[];
    };
    expect(report.settings).toMatchObject({ schedule: 'cosine', selectBy: 'loss', replicas: 1 });
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({ arch: 'logreg', epochsRun: 8, evaluation: { n: 300 } });
    expect(report.rows[0]!.accuracy).toBeGreaterThan(0.6);
  }, 120_000);
});
