import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { modelVersions } from '@/db/schema';
import { ensureCatalogue } from '@/lib/catalogues';
import { checkHealth } from '@/lib/health';
import { writeWorkerStatus } from '@/lib/jobs/worker-status';
import { tempDir } from '../review/fixtures';

// /api/v1/health says which scorer the worker runs, from the worker's heartbeat.
const tmp = tempDir('loupe-onnx-health-');
beforeAll(async () => {
  process.env.LOUPE_DB = path.join(tmp.dir, 'loupe.db');
  await migrateDb(getDb());
});
afterAll(tmp.cleanup);

const now = () => new Date().toISOString();

describe('health reports the scorer', () => {
  it('is the heartbeat scorer, onnx or tfjs', async () => {
    for (const scorer of ['onnx', 'tfjs'] as const) {
      writeWorkerStatus({ pid: 1, backend: 'wasm', scorer, threads: 1, startedAt: now(), updatedAt: now() });
      expect((await checkHealth()).scorer).toBe(scorer);
    }
  });

  it('is null from a worker that does not report one', async () => {
    writeWorkerStatus({ pid: 1, backend: 'wasm', threads: 1, startedAt: now(), updatedAt: now() });
    expect((await checkHealth()).scorer).toBeNull();
  });
});

describe("health reports each active version's precision", () => {
  beforeAll(async () => {
    // The shipped model is calibrated for int8; a copy of its meta.json without the calibration
    // is not; the third version's folder is gone.
    const uncalibrated = path.join(tmp.dir, 'uncalibrated');
    fs.mkdirSync(uncalibrated);
    const { int8: _, ...meta } = JSON.parse(fs.readFileSync('models/production/meta.json', 'utf8'));
    fs.writeFileSync(path.join(uncalibrated, 'meta.json'), JSON.stringify(meta));
    const db = getDb();
    for (const [slug, weightsPath] of [
      ['calibrated', path.resolve('models/production')],
      ['uncalibrated', uncalibrated],
      ['missing', path.join(tmp.dir, 'gone')],
    ] as const) {
      const catalogue = await ensureCatalogue(db, { slug, name: slug, classNames: ['a', 'b'] });
      await db
        .insert(modelVersions)
        .values({ catalogueId: catalogue.id, name: 'v1', arch: 'cnn', weightsPath, status: 'active' });
    }
  });

  const precisions = async () =>
    Object.fromEntries((await checkHealth()).models.map((m) => [m.catalogue, m.precision]));

  it('int8 only where the ONNX scorer asks for it and the version is calibrated', async () => {
    const beat = { pid: 1, backend: 'wasm', threads: 1, startedAt: now(), updatedAt: now() };
    writeWorkerStatus({ ...beat, scorer: 'onnx', onnxPrecision: 'int8' });
    expect(await precisions()).toEqual({ calibrated: 'int8', uncalibrated: 'fp32', missing: null });
    writeWorkerStatus({ ...beat, scorer: 'onnx', onnxPrecision: 'fp32' });
    expect(await precisions()).toEqual({ calibrated: 'fp32', uncalibrated: 'fp32', missing: null });
    writeWorkerStatus({ ...beat, scorer: 'tfjs' });
    expect(await precisions()).toEqual({ calibrated: 'fp32', uncalibrated: 'fp32', missing: 'fp32' });
    // A worker that has not said what it scores with.
    writeWorkerStatus(beat);
    expect(await precisions()).toEqual({ calibrated: null, uncalibrated: null, missing: null });
  });
});
