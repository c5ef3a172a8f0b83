import { spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The threaded wasm build is process-global (one heap, a pool of pthread workers, patched
 * globals during start-up), so each configuration runs in a child process of its own: the
 * fixture starts the backend through initBackend and prints one JSON line.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CHILD = path.join(ROOT, 'tests/fixtures/wasm-threads-child.ts');
/** A child that has not exited by then is hung: its workers keep it alive. Start-up takes seconds. */
const EXIT_TIMEOUT_MS = 90_000;

interface ChildReport {
  backend: string;
  threads: number | null;
  sharedHeap: boolean;
  results: Record<string, number[]>;
}

interface ChildRun {
  report: ChildReport;
  stderr: string;
  code: number | null;
}

function runChild(threads: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    // The child must exit on its own: no process.exit in the fixture, and a hard timeout here.
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT,
      env: { ...process.env, LOUPE_TF_BACKEND: 'wasm', LOUPE_WASM_THREADS: threads, LOUPE_QUIET_BACKEND: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the child (LOUPE_WASM_THREADS=${threads}) did not exit within ${EXIT_TIMEOUT_MS} ms; stderr:\n${stderr.slice(-2000)}`,
        ),
      );
    }, EXIT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ report: JSON.parse(line) as ChildReport, stderr, code });
      } catch {
        reject(
          new Error(
            `the child (LOUPE_WASM_THREADS=${threads}) exited with ${code} without a report; stderr:\n${stderr.slice(-2000)}`,
          ),
        );
      }
    });
  });
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('wasm backend threads (LOUPE_WASM_THREADS)', () => {
  let single: ChildRun;
  let threaded: ChildRun;

  beforeAll(
    async () => {
      // One after the other: both at once would measure nothing but contention, and on a
      // 2-core machine the threaded child needs both cores to show it works.
      single = await runChild('1');
      threaded = await runChild('2');
    },
    2 * EXIT_TIMEOUT_MS + 10_000,
  );

  it('starts the threaded build with 2 threads, logs it, and the process exits by itself', () => {
    expect(threaded.code).toBe(0);
    expect(threaded.report.backend).toBe('wasm');
    expect(threaded.report.threads).toBe(2);
    // The threaded build's heap is shared with the pthread workers; the plain one is not.
    expect(threaded.report.sharedHeap).toBe(true);
    expect(threaded.stderr).toContain('TensorFlow.js backend: wasm (2 threads)');
  });

  it('reports 1 thread with LOUPE_WASM_THREADS=1 (the single-threaded build)', () => {
    expect(single.code).toBe(0);
    expect(single.report.backend).toBe('wasm');
    expect(single.report.threads).toBe(1);
    expect(single.report.sharedHeap).toBe(false);
    expect(single.stderr).toContain('TensorFlow.js backend: wasm (1 thread)');
  });

  it('conv2d forward and gradients, batch norm and pooling gradients match the single-threaded run', () => {
    const names = Object.keys(single.report.results).sort();
    expect(names).toEqual(['dw1', 'dw2', 'dx1', 'dx2', 'forward1', 'forward2', 'simdDw', 'simdDx']);
    for (const name of names) {
      const diff = maxAbsDiff(threaded.report.results[name]!, single.report.results[name]!);
      expect(diff, name).toBeLessThan(1e-4);
    }
  });
});
