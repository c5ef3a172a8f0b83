import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getEnv } from '@/lib/env';
import { runScript } from '../../run-script';

const hasDataset =
  fs.existsSync(path.join(getEnv().LOUPE_DATASET_DIR, 't10k-labels-idx1-ubyte.gz')) ||
  fs.existsSync(path.join(getEnv().LOUPE_DATASET_DIR, 't10k-labels-idx1-ubyte'));

const runBench = (args: string[]) => runScript('bench', args);

const positive = expect.any(Number);

describe('npm run bench', () => {
  // queue and memory start a web server from a current build: tests/e2e/bench.spec.ts covers them.
  it.runIf(hasDataset)(
    "--quick --archs mlp prints one JSON object with every figure but the web server's",
    async () => {
      const { code, stdout, stderr } = await runBench([
        '--quick',
        '--archs',
        'mlp',
        '--only',
        'train,infer,pytorch,import,catalogue',
      ]);
      expect(code, stderr).toBe(0);
      // The whole of stdout is one object: progress and tfjs notices went to stderr.
      const report = JSON.parse(stdout) as Record<string, any>;
      expect(report.machine).toMatchObject({
        cpuModel: expect.any(String),
        cores: positive,
        node: process.version,
        backend: expect.any(String),
      });
      expect(Object.keys(report.archs)).toEqual(['mlp']);
      const mlp = report.archs.mlp;
      expect(mlp.train.imagesPerSecond).toBeGreaterThan(0);
      // The arithmetic rate is images/s x the model's training flops (tests/unit/flops.test.ts).
      expect(mlp.flops.training).toBeGreaterThan(mlp.flops.forward);
      expect(mlp.train.gflops).toBeCloseTo((mlp.train.imagesPerSecond * mlp.flops.training) / 1e9, 2);
      // Data-parallel training over one replica per core, wherever there is more than one core.
      if (report.machine.cores > 1)
        expect(mlp.trainReplicas).toMatchObject({
          replicas: report.machine.cores,
          imagesPerSecond: positive,
          steps: mlp.train.steps,
        });
      else expect(mlp.trainReplicas).toBeUndefined();
      // The same steps on the ONNX Runtime engine, every core.
      expect(mlp.trainOnnx).toMatchObject({ threads: report.machine.cores, imagesPerSecond: positive });
      expect(report.ceiling).toMatchObject({ size: 256, repeats: 2, gflops: positive, threads: positive });
      expect(report.ceiling.allCoresGflops).toBeCloseTo(
        (report.ceiling.gflops * report.machine.cores) / report.ceiling.threads,
        2,
      );
      expect(mlp.infer.weights).toBe('fresh');
      // ONNX Runtime beside tfjs in the same run, on the same images (it installs from npm).
      expect(mlp.infer.onnx).toMatchObject({
        oneThreadImagesPerSecond: positive,
        allCoresImagesPerSecond: positive,
        cores: report.machine.cores,
      });
      expect(mlp.infer.onnx.maxAbsDiffAcrossThreads).toBeLessThan(1e-4);
      expect(mlp.infer.onnx.overTfjs.allCores).toBeGreaterThan(0);
      // Fresh weights are saved without an int8 calibration: no int8 figures, rather than made-up ones.
      expect(mlp.infer.onnx.int8).toBeNull();
      for (const key of ['singleImagesPerSecond', 'parallelImagesPerSecond', 'parallelImagesPerSecondAfterStartup'])
        expect(mlp.infer[key], key).toBeGreaterThan(0);
      // The t10k labels are read: an untrained model scores near chance, never outside [0, 1].
      expect(mlp.infer.accuracy).toBeGreaterThanOrEqual(0);
      expect(mlp.infer.accuracy).toBeLessThanOrEqual(1);
      if (report.pytorch === null) {
        expect(report.pytorchReason).toEqual(expect.any(String));
        expect(report.ratios).toBeNull();
      } else {
        // Same layer layout: PyTorch's parameter count (moving statistics included) matches tfjs's.
        expect(report.pytorch.archs.mlp.params).toBe(mlp.params);
        expect(report.pytorch.archs.mlp.train.imagesPerSecond).toBeGreaterThan(0);
        expect(report.pytorch.archs.mlp.infer.imagesPerSecond).toBeGreaterThan(0);
        expect(report.ratios.mlp.train).toBeGreaterThan(0);
        expect(report.ratios.mlp.infer).toBeGreaterThan(0);
        expect(report.ratios.mlp.trainOnnx).toBeGreaterThan(0);
        for (const key of ['inferOnnxOneThread', 'inferOnnxAllCores', 'inferOnnxPerCpuSecond'])
          expect(report.ratios.mlp[key], key).toBeGreaterThan(0);
        expect(report.pytorch.matMul).toMatchObject({ size: 256, gflops: positive });
        expect(report.ratios.mlp.pytorchTrainGflops).toBeCloseTo(
          (report.pytorch.archs.mlp.train.imagesPerSecond * mlp.flops.training) / 1e9,
          2,
        );
        expect(report.ratios.mlp.halfOfPytorchNeedsShareOfCeiling).toBeCloseTo(
          report.ratios.mlp.pytorchTrainGflops / 2 / report.ceiling.allCoresGflops,
          2,
        );
      }
      // Import: both formats, a re-import that adds nothing; --quick writes 1,000 CSV rows.
      expect(report.import.machine).toBeUndefined();
      expect(report.import.idx).toMatchObject({ rows: 10_000, reimportInserted: 0, file: expect.any(String) });
      expect(report.import.csv).toMatchObject({ rows: 1_000, reimportInserted: 0 });
      for (const part of [report.import.idx, report.import.csv]) expect(part.itemsPerSecond).toBeGreaterThan(0);
      // Catalogue: every browsing query timed on the synthetic catalogue, and both exports.
      expect(report.catalogue).toMatchObject({ items: 5_000, runs: 1 });
      expect(report.catalogue.queries.length).toBeGreaterThan(10);
      for (const query of report.catalogue.queries) {
        expect(query, query.name).toMatchObject({
          name: expect.any(String),
          total: expect.any(Number),
          medianMs: expect.any(Number),
          maxMs: expect.any(Number),
        });
        expect(query.total, query.name).toBeLessThanOrEqual(5_000);
      }
      expect(report.catalogue.queries[0].total).toBe(5_000);
      expect(report.catalogue.exports.map((e: { format: string }) => e.format)).toEqual(['csv', 'json']);
      for (const figure of report.catalogue.exports) expect(figure.bytes).toBeGreaterThan(0);
      // Not asked for: no section, and no web build was started for them.
      expect(report.queue).toBeUndefined();
      expect(report.memory).toBeUndefined();
      expect(stderr).not.toMatch(/building the web app/);
    },
    240_000,
  );

  it('rejects an unknown architecture with one error line', async () => {
    const { code, stdout, stderr } = await runBench(['--quick', '--archs', 'resnet']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((line) => line && !line.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: --archs/);
  }, 60_000);
  it('rejects an unknown section with one error line', async () => {
    const { code, stdout, stderr } = await runBench(['--quick', '--only', 'train,latency']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((line) => line && !line.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: --only/);
  }, 60_000);

  it('import prints import throughput for IDX and CSV, and a re-import adds nothing', async () => {
    const { code, stdout, stderr } = await runBench(['import', '--csv-rows', '200']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Record<string, any>;
    expect(report.machine).toMatchObject({ cores: positive, node: process.version });
    expect(report.idx).toMatchObject({ rows: 10_000, reimportInserted: 0 });
    expect(report.csv).toMatchObject({ rows: 200, reimportInserted: 0 });
    for (const part of [report.idx, report.csv]) {
      expect(part.itemsPerSecond).toBeGreaterThan(0);
      expect(part.bytes).toBeGreaterThan(0);
    }
  });

  it('import refuses a bad --csv-rows with a sentence', async () => {
    const { code, stderr } = await runBench(['import', '--csv-rows', 'abc']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: .*csv-rows/m);
  });
});
