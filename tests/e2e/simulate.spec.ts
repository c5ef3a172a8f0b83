import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO, expect, test } from './fixtures';
import { E2E } from './e2e-env';
import { runScript } from '../run-script';

// `npm run simulate` smoke tests: the simulator's own Loupe (a fresh database, the build the
// e2e server just made, its own port and worker), and --url against the e2e server. They check
// that a run ends and reports well-formed figures, never the figures themselves.

const simulate = (args: string[]) => runScript('simulate', args);

const share = () => expect.any(Number);

test('--quick runs a fresh Loupe with concurrent reviewers and writes one JSON object and the chart', async () => {
  test.setTimeout(240_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-sim-test-'));
  try {
    const { code, stdout, stderr } = await simulate([
      '--quick',
      '--build-dir',
      E2E.distDir,
      '--out',
      out,
      '--target',
      '0.97',
    ]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.mode).toBe('fresh');
    expect(report.scenario).toMatchObject({
      reviewers: 3,
      streamItems: 300,
      batches: 2,
      errorRate: 0.02,
      threshold: { mode: 'target', targetAccuracy: 0.97 },
    });
    expect(['done', 'decision budget']).toContain(report.summary.stoppedBecause);
    expect(report.summary).toMatchObject({
      items: 300,
      catalogueAccuracy: share(),
      modelAloneAccuracy: share(),
      modelAloneSource: 'base model on every stream image',
      finalModel: 'base-cnn',
    });
    expect(report.summary.humanDecisions).toBeGreaterThan(0);
    for (const key of ['catalogueAccuracy', 'modelAloneAccuracy', 'reviewedShare']) {
      expect(report.summary[key], key).toBeGreaterThanOrEqual(0);
      expect(report.summary[key], key).toBeLessThanOrEqual(1);
    }
    // Target mode went through PUT /threshold once the worker had evaluated the base model.
    expect(report.thresholdChanges[0]).toMatchObject({ reason: 'start', threshold: expect.any(Number) });
    expect(report.timeline.length).toBeGreaterThan(0);
    expect(report.timeline.at(-1)).toMatchObject({ imported: 300, items: 300, activeModel: 'base-cnn' });
    expect(report.queueApi).toMatchObject({
      errors: 0,
      claimMsP50: expect.any(Number),
      submitMsP99: expect.any(Number),
    });
    expect(report.processes.web.peakRssMb).toBeGreaterThan(0);
    expect(report.processes.worker.peakRssMb).toBeGreaterThan(0);
    expect(JSON.parse(fs.readFileSync(report.files.json, 'utf8')).summary).toEqual(report.summary);
    const html = fs.readFileSync(report.files.chart, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(4);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('--url drives a running Loupe (the e2e server) with given accounts, importing nothing', async () => {
  test.setTimeout(120_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-sim-test-'));
  try {
    const { code, stdout, stderr } = await simulate([
      '--url',
      E2E.baseUrl,
      '--catalogue',
      'fashion-mnist',
      '--admin',
      `${DEMO.admin.email}:${DEMO.admin.password}`,
      '--reviewer',
      `${DEMO.reviewer.email}:${DEMO.reviewer.password}`,
      '--batches',
      '0',
      '--max-decisions',
      '3',
      '--think-ms',
      '0',
      '--sample-every-s',
      '1',
      '--out',
      out,
    ]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      mode: 'url',
      processes: null,
      summary: { stoppedBecause: 'decision budget', modelAloneSource: 'first predictions seen' },
    });
    // The demo catalogue is the t10k file: the simulator knows every item's truth from its row.
    expect(report.summary.items).toBe(10_000);
    expect(report.summary.humanDecisions).toBeGreaterThanOrEqual(3);
    expect(report.queueApi.errors).toBe(0);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('a bad flag or a wrong password is one error line and exit code 1', async () => {
  const bad = await simulate(['--error-rate', '2']);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toBe('');
  expect(bad.stderr).toMatch(/^error: --error-rate: an error rate is between 0 and 1$/m);
  const wrong = await simulate([
    '--url',
    E2E.baseUrl,
    '--catalogue',
    'fashion-mnist',
    '--admin',
    `${DEMO.admin.email}:wrong-password`,
    '--reviewer',
    `${DEMO.reviewer.email}:x`,
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(
    /^error: signing in as admin@loupe\.demo at http:\/\/localhost:\d+ failed: check the email and password\.$/m,
  );
});
