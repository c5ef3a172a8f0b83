import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { modelVersions } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { initBackend } from '@/lib/ml/backend';
import { readIdxSplit } from '@/lib/formats/idx';
import { loadModel, saveModel, saveUntrainedModel } from '@/lib/ml/model-store';
import { INT8_ONNX_FILE, ONNX_FILE } from '@/lib/ml/onnx/model-file';
import { loadOnnxRuntime } from '@/lib/ml/scorer';
import { CLASSES, makeFixture, tempDir, type Fixture } from '../review/fixtures';

// The route asks next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const { GET } = await import('@/app/api/v1/models/[id]/download/route');

const tmp = tempDir('loupe-model-download-');
let f: Fixture;
const modelDir = path.join(tmp.dir, 'models', 'm1');

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{ predictedClass: 0 }]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  process.env.LOUPE_TF_BACKEND = 'wasm';
  await initBackend();
  mkdirSync(path.dirname(modelDir), { recursive: true });
  await saveUntrainedModel(modelDir, { arch: 'lenet5', classNames: CLASSES, seed: 4 });
  // As a version saved before ONNX export existed: the first download exports it.
  rmSync(path.join(modelDir, ONNX_FILE));
  await f.db.update(modelVersions).set({ weightsPath: modelDir }).where(eq(modelVersions.id, f.modelVersionId));
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function get(id: string | number, query = '') {
  return GET(new Request(`http://localhost/api/v1/models/${id}/download${query}`), {
    params: Promise.resolve({ id: String(id) }),
  });
}

/** Loads the downloaded file in ONNX Runtime and scores two images: the shape of its logits. */
async function logitsShapeInOnnxRuntime(bytes: Uint8Array): Promise<readonly number[]> {
  const ort = await loadOnnxRuntime();
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    pixels: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 28, 28, 1]),
  });
  await session.release();
  return out.logits!.dims;
}

describe('GET /api/v1/models/:id/download', () => {
  it('serves model.onnx to admins and ops, and the file runs in ONNX Runtime', async () => {
    for (const actor of [f.admin, f.ops]) {
      signedIn = actor;
      const response = await get(f.modelVersionId, '?format=onnx');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="demo-m1.onnx"');
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(Buffer.from(bytes).equals(readFileSync(path.join(modelDir, ONNX_FILE)))).toBe(true);
      expect(await logitsShapeInOnnxRuntime(bytes)).toEqual([2, CLASSES.length]);
    }
    expect(existsSync(path.join(modelDir, ONNX_FILE))).toBe(true);
  });

  it('serves the TensorFlow.js folder as a zip with ?format=tfjs', async () => {
    signedIn = f.ops;
    const response = await get(f.modelVersionId, '?format=tfjs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/zip');
    const files = unzipSync(new Uint8Array(await response.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['demo-m1/meta.json', 'demo-m1/model.json', 'demo-m1/weights.bin']);
    expect(Buffer.from(files['demo-m1/weights.bin']!).equals(readFileSync(path.join(modelDir, 'weights.bin')))).toBe(
      true,
    );
  });

  it('serves model.int8.onnx with ?format=onnx-int8, and says why a version without calibration has none (409)', async () => {
    signedIn = f.admin;
    const none = await get(f.modelVersionId, '?format=onnx-int8');
    expect(none.status).toBe(409);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(
      /^Model version .* has no int8 export: it was saved before int8 calibration existed\. .*npm run quantize-model/,
    );
    // Saved again with calibration images, as training and fine-tuning save every version now.
    const { model, meta } = await loadModel(modelDir);
    const images = readIdxSplit(path.resolve('datasets/fashion-mnist'), 't10k').images;
    await saveModel(modelDir, model, meta, { calibrationImages: { pixels: images.pixels, count: 200 } });
    model.dispose();
    signedIn = f.ops;
    const response = await get(f.modelVersionId, '?format=onnx-int8');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="demo-m1.int8.onnx"');
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(Buffer.from(bytes).equals(readFileSync(path.join(modelDir, INT8_ONNX_FILE)))).toBe(true);
    expect(await logitsShapeInOnnxRuntime(bytes)).toEqual([2, CLASSES.length]);
  });

  it('refuses reviewers (403) and signed-out users (401)', async () => {
    signedIn = f.reviewer;
    const forbidden = await get(f.modelVersionId, '?format=onnx');
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    signedIn = null;
    expect((await get(f.modelVersionId)).status).toBe(401);
  });

  it('answers 404 for an unknown version and 400 for an unknown format or id', async () => {
    signedIn = f.admin;
    const missing = await get(9999, '?format=onnx');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      'There is no model version 9999.',
    );
    expect((await get(f.modelVersionId, '?format=pt')).status).toBe(400);
    expect((await get('abc')).status).toBe(400);
  });
});
