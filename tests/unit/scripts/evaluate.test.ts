import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCliError, parseEvaluateArgs } from '@/scripts/evaluate';
import { AppError } from '@/lib/errors';

const root = path.resolve(import.meta.dirname, '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-evaluate-cli-'));
// An existing (empty) model dir, so the data path is what fails, not the model lookup.
const modelDir = path.join(tmp, 'model');
mkdirSync(modelDir);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function runEvaluate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('npx', ['tsx', 'scripts/evaluate.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1', LOUPE_DEBUG: '' },
  });
  // npx may warn about npm config on stderr; that line is npm's, not ours.
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line && !line.startsWith('npm warn'))
    .join('\n');
  return { status: result.status, stdout: result.stdout, stderr };
}

function expectOneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('npm run evaluate, failing cleanly', () => {
  it('reports a missing IDX directory in one line and exits 1', () => {
    const result = runEvaluate(['--model', modelDir, '--idx', path.join(tmp, 'no-such-dir')]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneErrorLine(result.stderr)).toContain('not found');
  });

  it('reports a missing model directory in one line and exits 1', () => {
    const result = runEvaluate(['--model', path.join(tmp, 'no-such-model'), '--idx', tmp]);
    expect(result.status).toBe(1);
    expect(expectOneErrorLine(result.stderr)).toMatch(/Model directory not found/);
  });

  it('reports a file in the wrong format as a bad input, not a crash', () => {
    const file = path.join(tmp, 'not-a-csv.csv');
    writeFileSync(file, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0x2c, 0x0a, 0x41]));
    const result = runEvaluate(['--model', modelDir, '--csv', file]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(expectOneErrorLine(result.stderr)).not.toContain('unexpected');
  });

  it('rejects an unknown option with a usage hint', () => {
    const result = runEvaluate(['--idx', tmp, '--bogus']);
    expect(result.status).toBe(1);
    expect(expectOneErrorLine(result.stderr)).toMatch(/--bogus.*usage:/);
  });
});

describe('parseEvaluateArgs', () => {
  it('defaults the split to t10k and takes --model, --json and --out', () => {
    expect(parseEvaluateArgs(['--model', 'm', '--idx', 'd', '--json', '--out', 'r.txt'])).toEqual({
      help: false,
      modelDir: 'm',
      source: { kind: 'idx', dir: 'd', split: 't10k' },
      json: true,
      out: 'r.txt',
    });
  });

  it('needs exactly one data source and a valid split', () => {
    expect(() => parseEvaluateArgs(['--model', 'm'])).toThrow(/exactly one of --idx/);
    expect(() => parseEvaluateArgs(['--idx', 'd', '--csv', 'f'])).toThrow(/exactly one of --idx/);
    expect(() => parseEvaluateArgs(['--idx', 'd', '--split', 'test'])).toThrow(/--split/);
    expect(() => parseEvaluateArgs(['--csv', 'f', '--split', 'train'])).toThrow(/only applies to --idx/);
    expect(() => parseEvaluateArgs(['--idx', 'd', 'extra'])).toThrow(/usage:/);
  });

  it('formats AppErrors as they are and flags anything else as unexpected, on one line', () => {
    expect(formatCliError(new AppError('not_found', 'No model here.'))).toBe('error: No model here.');
    expect(formatCliError(new TypeError('x is undefined\n    at foo (bar.ts:1:1)'))).toBe(
      'error: unexpected failure: x is undefined at foo (bar.ts:1:1)',
    );
  });
});
