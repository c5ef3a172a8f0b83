import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * onnxruntime-node's addon is not safe to load in several threads of one process (onnxruntime
 * issue #24486; a worker aborted with "terminate called after throwing an instance of
 * 'Napi::Error'" when the scorer choice loaded it on the main thread and the scoring thread
 * loaded it again). In a fresh process that chooses the scorer and scores as the worker does,
 * the main thread must load no onnxruntime addon, and a later load there is refused.
 */
const run = promisify(execFile);

describe('onnxruntime-node', () => {
  it('is loaded by the scoring thread only: choosing the scorer and scoring leave the main thread without it', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'tests/unit/ml/onnx-one-thread-child.ts'], {
      env: { ...process.env, LOUPE_SCORER: 'onnx' },
      maxBuffer: 4 * 1024 * 1024,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      scorer: string;
      backend: string;
      predicted: number;
      mainThreadAddons: string[];
      secondLoad: string;
    };
    // It did score with ONNX Runtime, so some thread loaded it: the scoring thread.
    expect(report.scorer).toBe('onnx');
    expect(report.backend).toBe('onnxruntime');
    expect(report.predicted).toBe(200);
    expect(report.mainThreadAddons.filter((name) => name.includes('onnxruntime'))).toEqual([]);
    expect(report.secondLoad).toMatch(/one thread of a process only/);
  }, 120_000);
});
