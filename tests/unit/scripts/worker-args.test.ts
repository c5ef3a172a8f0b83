import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WORKER_ENTRY, workerExecArgv, workerNodeArgs } from '@/scripts/lib/worker-args';

const sourceMapsEnabled = (execArgv: string[]) => {
  const result = spawnSync(
    process.execPath,
    [...execArgv, '-e', "import('./lib/env.ts').then(() => console.log(process.sourceMapsEnabled))"],
    { encoding: 'utf8' },
  );
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim();
};

describe('worker process arguments', () => {
  it('load TypeScript through tsx and leave source maps off (tsx alone turns them on)', () => {
    expect(sourceMapsEnabled(['--import', 'tsx'])).toBe('true');
    expect(sourceMapsEnabled(workerExecArgv())).toBe('false');
  });

  it('end with the worker entry', () => {
    expect(workerNodeArgs().at(-1)).toBe(WORKER_ENTRY);
    expect(workerNodeArgs().slice(0, -1)).toEqual(workerExecArgv());
  });
});
