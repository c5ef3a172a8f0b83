import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { imports, items } from '@/db/schema';
import type { Actor } from '@/lib/auth/permissions';
import { importIdx } from '@/lib/import';
import { makeFixture, tempDir, type Fixture } from '../unit/review/fixtures';

let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const { POST: upload } = await import('@/app/api/v1/imports/route');
const { GET: health } = await import('@/app/api/v1/health/route');

const GiB = 1024 * 1024 * 1024;
const MB = 1024 * 1024;

/**
 * An IDX images header declaring `count` 28x28 images, followed by `zeros` zero bytes, gzipped
 * as a stream (1 GiB of zeros compresses to about 1 MB; nothing of its inflated size is ever
 * held by the test). Written to `file`.
 */
async function writeBomb(file: string, count: number, zeros: number): Promise<number> {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(28, 8);
  header.writeUInt32BE(28, 12);
  const gzip = createGzip({ level: 9 });
  const out = fs.createWriteStream(file);
  gzip.pipe(out);
  gzip.write(header);
  const chunk = Buffer.alloc(4 * MB);
  for (let written = 0; written < zeros; written += chunk.length) {
    if (!gzip.write(chunk)) await once(gzip, 'drain');
  }
  gzip.end();
  await once(out, 'finish');
  return fs.statSync(file).size;
}

/** Runs `work` while sampling the process's RSS; the peak growth over the level before it. */
async function peakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growthMb: (peak - before) / MB };
  } finally {
    clearInterval(sampler);
  }
}

function multipart(file: string, name: string): Request {
  const form = new FormData();
  form.set('catalogue', 'demo');
  form.set('kind', 'idx');
  form.append('file', new Blob([fs.readFileSync(file)]), name);
  return new Request('http://localhost/api/v1/imports', { method: 'POST', body: form });
}

const tmp = tempDir('loupe-security-bomb-');
let f: Fixture;
let bomb: string;
let bombBytes: number;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [{}]);
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
  signedIn = f.admin;
  bomb = path.join(tmp.dir, 'train-images-idx3-ubyte.gz');
  // 60,000 images declared (47 MB, inside the 70,000-item cap), then 1 GiB of zeros.
  bombBytes = await writeBomb(bomb, 60_000, GiB);
}, 120_000);
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

describe('a gzip bomb', () => {
  it('uploaded: refused at the first byte past what the header declares, memory bounded, health answering meanwhile', async () => {
    expect(bombBytes).toBeLessThan(2 * MB);
    const itemsBefore = (await f.db.select().from(items)).length;
    let answeredDuring = 0;
    let uploadDone = false;
    const { result: response, growthMb } = await peakRssGrowth(async () => {
      const pending = upload(multipart(bomb, 'train-images-idx3-ubyte.gz'), { params: Promise.resolve({}) }).finally(
        () => (uploadDone = true),
      );
      // The same process's other requests keep being answered while the upload inflates.
      while (!uploadDone) {
        const answer = await health();
        if (!uploadDone && answer.status < 500) answeredDuring++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return pending;
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(
      /train-images-idx3-ubyte\.gz: header says 60000 images of 28x28 \(47040016 bytes\) but the file goes on past byte 47040016/,
    );
    // Inflating all of it took 3.3 GB before; the declared 47 MB is all that may be held now.
    expect(growthMb).toBeLessThan(200);
    expect(answeredDuring).toBeGreaterThan(0);
    expect((await f.db.select().from(items)).length).toBe(itemsBefore);
  });

  it('uploaded with a header declaring more images than an upload may hold: 413 before any pixel is inflated', async () => {
    const file = path.join(tmp.dir, 'huge-idx3-ubyte.gz');
    await writeBomb(file, 300_000, 16 * MB);
    const { result: response, growthMb } = await peakRssGrowth(() =>
      upload(multipart(file, 'huge-idx3-ubyte.gz'), { params: Promise.resolve({}) }),
    );
    expect(response.status).toBe(413);
    expect((await response.json()).error.message).toMatch(
      /huge-idx3-ubyte\.gz: the header declares 300000 images; one upload may hold at most 70000/,
    );
    expect(growthMb).toBeLessThan(100);
  });

  it('imported from the command line: the same stream and limits (LOUPE_IMPORT_MAX_BYTES, 512 MiB by default)', async () => {
    const { result, growthMb } = await peakRssGrowth(() =>
      importIdx(f.db, { catalogueSlug: 'demo', imagesPath: bomb }).then(
        () => null,
        (error: unknown) => error,
      ),
    );
    expect(String(result)).toMatch(/goes on past byte 47040016/);
    expect(growthMb).toBeLessThan(200);
    const declaring = path.join(tmp.dir, 'million-idx3-ubyte.gz');
    await writeBomb(declaring, 1_000_000, MB);
    await expect(importIdx(f.db, { catalogueSlug: 'demo', imagesPath: declaring })).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringMatching(
        /declares 1000000 images of 28x28 \(747\.7 MB\); an import may hold at most 512\.0 MB/,
      ),
    });
    expect(await f.db.select().from(imports)).toHaveLength(1);
  });
});
