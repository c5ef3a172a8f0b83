import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIdxImages, parseIdxLabels, readIdxSplit } from '@/lib/formats/idx';
import { readIdxImagesFile, readIdxLabelsFile } from '@/lib/formats/idx-file';
import { AppError } from '@/lib/errors';

function idxImages(
  count: number,
  rows: number,
  cols: number,
  opts: { magic?: number; body?: number } = {},
): Uint8Array {
  const body = opts.body ?? count * rows * cols;
  const buf = new Uint8Array(16 + body);
  const view = new DataView(buf.buffer);
  view.setUint32(0, opts.magic ?? 0x803);
  view.setUint32(4, count);
  view.setUint32(8, rows);
  view.setUint32(12, cols);
  for (let i = 0; i < body; i++) buf[16 + i] = i % 256;
  return buf;
}

function idxLabels(labels: number[], opts: { magic?: number } = {}): Uint8Array {
  const buf = new Uint8Array(8 + labels.length);
  const view = new DataView(buf.buffer);
  view.setUint32(0, opts.magic ?? 0x801);
  view.setUint32(4, labels.length);
  buf.set(labels, 8);
  return buf;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-idx-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('parseIdxImages', () => {
  it('reads count, dims and row-major pixels', () => {
    const set = parseIdxImages(idxImages(2, 3, 4), 'x');
    expect(set).toMatchObject({ count: 2, rows: 3, cols: 4 });
    expect(set.pixels.length).toBe(24);
    expect(set.pixels[5]).toBe(5);
  });

  it('reads gzip by content, whatever the name', () => {
    const set = parseIdxImages(gzipSync(idxImages(3, 28, 28)), 'plain-name');
    expect(set.count).toBe(3);
    expect(set.pixels[784]).toBe(784 % 256);
  });

  it('rejects a truncated body, naming the file and the byte counts', () => {
    const buf = idxImages(10000, 28, 28, { body: 5000 - 16 });
    expect(() => parseIdxImages(gzipSync(buf), 't10k-images-idx3-ubyte.gz')).toThrow(
      't10k-images-idx3-ubyte.gz: truncated: header says 10000 images of 28x28 (7840016 bytes) but the file has 5000 bytes',
    );
  });

  it('rejects a truncated header', () => {
    expect(() => parseIdxImages(idxImages(1, 1, 1).subarray(0, 10), 'a.idx')).toThrow(
      /a\.idx: truncated: .*16-byte header .* 10 bytes/,
    );
  });

  it('rejects the wrong magic number (a labels file given as images)', () => {
    const err = captureError(() => parseIdxImages(idxLabels([1, 2, 3]), 'labels.idx'));
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('bad_input');
    expect(err.message).toMatch(/labels\.idx: wrong magic number 0x00000801 .*0x00000803/);
  });

  it('rejects trailing bytes after the declared images', () => {
    expect(() => parseIdxImages(idxImages(1, 2, 2, { body: 6 }), 'f')).toThrow(/2 extra bytes after byte 20/);
  });

  it('rejects corrupt gzip', () => {
    const gz = gzipSync(idxImages(2, 28, 28)).subarray(0, 30);
    expect(() => parseIdxImages(gz, 'bad.gz')).toThrow(/bad\.gz: .*gzip.*does not decompress/);
  });
});

describe('parseIdxLabels', () => {
  it('reads labels', () => {
    expect([...parseIdxLabels(idxLabels([9, 0, 3]), 'l')]).toEqual([9, 0, 3]);
  });

  it('rejects wrong magic and truncation', () => {
    expect(() => parseIdxLabels(idxImages(1, 1, 1), 'l')).toThrow(/wrong magic number 0x00000803/);
    const short = idxLabels([1, 2, 3]).subarray(0, 9);
    expect(() => parseIdxLabels(short, 'l')).toThrow(
      'l: truncated: header says 3 labels (11 bytes) but the file has 9 bytes',
    );
  });
});

describe('readIdxSplit', () => {
  it('finds raw and gz files of a split', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxImages(2, 28, 28)));
    fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([4, 7]));
    const { images, labels } = readIdxSplit(dir, 't10k');
    expect(images.count).toBe(2);
    expect([...labels]).toEqual([4, 7]);
  });

  it('rejects a label/image count mismatch', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxImages(3, 28, 28));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2]));
    expect(() => readIdxSplit(dir, 'train')).toThrow(
      'train-labels-idx1-ubyte: has 2 labels but train-images-idx3-ubyte has 3 images',
    );
  });

  it('requires 28x28 images', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idxImages(1, 32, 32));
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([1]));
    expect(() => readIdxSplit(dir, 'train')).toThrow(/images are 32x32; Loupe needs 28x28/);
  });

  it('reports a missing file as not_found with its path', () => {
    const dir = tempDir();
    const err = captureError(() => readIdxSplit(dir, 't10k'));
    expect((err as AppError).code).toBe('not_found');
    expect(err.message).toContain(path.join(dir, 't10k-images-idx3-ubyte'));
  });

  it('reads the real Fashion-MNIST test split', () => {
    const { images, labels } = readIdxSplit('/usr/share/datasets/fashion-mnist', 't10k');
    expect(images).toMatchObject({ count: 10000, rows: 28, cols: 28 });
    expect(images.pixels.length).toBe(10000 * 784);
    expect(labels.length).toBe(10000);
    expect(labels[0]).toBe(9); // the first test item is an ankle boot
    expect(Math.max(...labels)).toBe(9);
  });
});

describe('readIdxImagesFile / readIdxLabelsFile (streamed, bounded)', () => {
  function write(name: string, bytes: Uint8Array): string {
    const file = path.join(tempDir(), name);
    fs.writeFileSync(file, bytes);
    return file;
  }

  it('reads raw and gzip files the same, with the SHA-256 of the file as stored', async () => {
    const raw = idxImages(3, 28, 28);
    const gz = gzipSync(raw);
    const fromRaw = await readIdxImagesFile(write('a-idx3-ubyte', raw));
    const fromGz = await readIdxImagesFile(write('a-idx3-ubyte.gz', gz));
    expect(fromRaw.images).toMatchObject({ count: 3, rows: 28, cols: 28 });
    expect(Buffer.from(fromGz.images.pixels)).toEqual(Buffer.from(fromRaw.images.pixels));
    expect(fromGz.sha256).toBe(createHash('sha256').update(gz).digest('hex'));
    const { labels } = await readIdxLabelsFile(write('l.gz', gzipSync(idxLabels([3, 1, 4]))));
    expect([...labels]).toEqual([3, 1, 4]);
  });

  it('refuses the first byte past the declared size, and a truncated file, with the byte counts', async () => {
    await expect(readIdxImagesFile(write('x.gz', gzipSync(idxImages(1, 28, 28, { body: 800 }))))).rejects.toThrow(
      'x.gz: header says 1 images of 28x28 (800 bytes) but the file goes on past byte 800.',
    );
    await expect(readIdxImagesFile(write('t', idxImages(2, 28, 28, { body: 784 })))).rejects.toThrow(
      't: truncated: header says 2 images of 28x28 (1584 bytes) but the file has 800 bytes.',
    );
    await expect(readIdxImagesFile(write('h', idxImages(1, 28, 28).subarray(0, 10)))).rejects.toThrow(
      /needs a 16-byte header but the file has 10 bytes/,
    );
  });

  it('checks magic, size and limits from the header, before reading the body', async () => {
    await expect(readIdxImagesFile(write('m', idxLabels([1])))).rejects.toThrow(/wrong magic number 0x00000801/);
    await expect(readIdxImagesFile(write('s', idxImages(1, 32, 32)), { side: 28 })).rejects.toThrow(
      's: images are 32x32; Loupe needs 28x28.',
    );
    const declaresMany = idxImages(5, 28, 28, { body: 0 });
    await expect(readIdxImagesFile(write('n', declaresMany), { maxItems: 4 })).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringMatching(/declares 5 images; one upload may hold at most 4/),
    });
    await expect(readIdxImagesFile(write('b', declaresMany), { maxBytes: 2000 })).rejects.toMatchObject({
      code: 'too_large',
      message: expect.stringMatching(/declares 5 images of 28x28 \(4 KB\); an import may hold at most 2 KB/),
    });
    await expect(readIdxLabelsFile(write('lm', idxLabels([1, 2, 3])), { maxItems: 2 })).rejects.toMatchObject({
      code: 'too_large',
    });
  });

  it('says a corrupt gzip does not decompress', async () => {
    const gz = gzipSync(idxImages(2, 28, 28));
    await expect(readIdxImagesFile(write('c.gz', gz.subarray(0, gz.length - 12)))).rejects.toThrow(
      /c\.gz: the file looks gzip-compressed but does not decompress/,
    );
  });
});

describe('parseIdxImages on a gzip that inflates past the limit', () => {
  it('stops inflating at maxBytes and answers 413', () => {
    const bomb = gzipSync(new Uint8Array(4 * 1024 * 1024));
    expect(() => parseIdxImages(bomb, 'z.gz', { maxBytes: 1024 * 1024 })).toThrow(
      /z\.gz: decompresses to more than 1\.0 MB, the most an import may hold/,
    );
  });
});

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
