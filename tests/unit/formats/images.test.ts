import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { readIdxSplit } from '@/lib/formats/idx';
import { imageToPixels, MAX_IMAGE_BYTES, readImageFiles } from '@/lib/formats/images';

/** A `width`x`height` RGB canvas of `background` with a `rect` filled with `foreground`. */
function canvas(opts: {
  width: number;
  height: number;
  background: number;
  foreground: number;
  rect: { left: number; top: number; width: number; height: number };
}): sharp.Sharp {
  const { width, height, rect } = opts;
  const data = Buffer.alloc(width * height * 3, opts.background);
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    data.fill(opts.foreground, (y * width + rect.left) * 3, (y * width + rect.left + rect.width) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

function at(pixels: Uint8Array, x: number, y: number): number {
  return pixels[y * 28 + x]!;
}

function boundingBox(pixels: Uint8Array, threshold = 64) {
  let left = 28,
    right = -1,
    top = 28,
    bottom = -1;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      if (at(pixels, x, y) <= threshold) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return { left, right, top, bottom };
}

const darkSquareOnWhite = {
  width: 100,
  height: 80,
  background: 255,
  foreground: 20,
  rect: { left: 10, top: 5, width: 30, height: 30 },
};

describe('imageToPixels', () => {
  it('inverts a dark square on white into a light object, scaled to fill and centred', async () => {
    const png = await canvas(darkSquareOnWhite).png().toBuffer();
    const pixels = await imageToPixels(png, 'square.png');
    expect(pixels.length).toBe(784);
    expect(at(pixels, 14, 14)).toBeGreaterThan(200); // object light
    // Off-centre in the source; in the output it fills the frame like a Fashion-MNIST item.
    expect(boundingBox(pixels)).toEqual({ left: 0, right: 27, top: 0, bottom: 27 });
  });

  it('leaves the background black around a non-square object', async () => {
    const png = await canvas({ ...darkSquareOnWhite, rect: { left: 60, top: 10, width: 30, height: 20 } })
      .png()
      .toBuffer();
    const pixels = await imageToPixels(png, 'rect.png');
    expect(at(pixels, 0, 0)).toBe(0);
    expect(at(pixels, 27, 27)).toBe(0);
    const box = boundingBox(pixels);
    expect([box.left, box.right]).toEqual([0, 27]);
    expect(box.bottom - box.top + 1).toBeGreaterThanOrEqual(18); // 28 * 20/30 ≈ 19
    expect(box.bottom - box.top + 1).toBeLessThanOrEqual(20);
  });

  it('centres a wide object and keeps its aspect ratio', async () => {
    const webp = await canvas({ ...darkSquareOnWhite, rect: { left: 50, top: 60, width: 40, height: 10 } })
      .webp({ quality: 95 })
      .toBuffer();
    const box = boundingBox(await imageToPixels(webp, 'wide.webp'));
    expect(box.left).toBe(0);
    expect(box.right).toBe(27);
    const height = box.bottom - box.top + 1;
    expect(height).toBeGreaterThanOrEqual(6);
    expect(height).toBeLessThanOrEqual(8); // 28 * 10/40 = 7
    expect(Math.abs((box.top + box.bottom) / 2 - 13.5)).toBeLessThanOrEqual(1);
  });

  it('keeps a light object on a dark background as it is (JPEG)', async () => {
    const jpeg = await canvas({
      width: 64,
      height: 64,
      background: 0,
      foreground: 230,
      rect: { left: 24, top: 8, width: 16, height: 48 },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
    const pixels = await imageToPixels(jpeg, 'tall.jpg');
    expect(at(pixels, 14, 14)).toBeGreaterThan(200);
    expect(at(pixels, 1, 14)).toBeLessThan(30);
    const box = boundingBox(pixels);
    expect([box.top, box.bottom]).toEqual([0, 27]);
    expect(box.right - box.left + 1).toBeLessThanOrEqual(10); // 28 * 16/48 ≈ 9
  });

  it('flattens transparency onto white before inverting', async () => {
    const data = Buffer.alloc(40 * 40 * 4, 0); // fully transparent
    for (let y = 10; y < 30; y++) {
      for (let x = 10; x < 30; x++) data.set([0, 0, 0, 255], (y * 40 + x) * 4);
    }
    const png = await sharp(data, { raw: { width: 40, height: 40, channels: 4 } })
      .png()
      .toBuffer();
    const pixels = await imageToPixels(png, 'cutout.png');
    expect(at(pixels, 14, 14)).toBe(255);
  });

  it('rejects bytes that are not an image, naming the file', async () => {
    await expect(imageToPixels(Buffer.from('definitely not a png'), 'notes.png')).rejects.toThrow(
      /^notes\.png: the file is not an image that can be decoded/,
    );
  });

  it('rejects a truncated PNG and formats other than PNG/JPEG/WebP', async () => {
    const png = await canvas(darkSquareOnWhite).png().toBuffer();
    await expect(imageToPixels(png.subarray(0, png.length / 2), 'cut.png')).rejects.toThrow(/^cut\.png: /);
    const gif = await canvas(darkSquareOnWhite).gif().toBuffer();
    await expect(imageToPixels(gif, 'a.gif')).rejects.toThrow(
      'a.gif: gif images are not accepted; use PNG, JPEG or WebP.',
    );
  });

  it('rejects a blank image and an oversized buffer', async () => {
    const blank = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    await expect(imageToPixels(blank, 'blank.png')).rejects.toThrow(/blank\.png: no object stands out/);
    await expect(imageToPixels(Buffer.alloc(MAX_IMAGE_BYTES + 1), 'huge.png')).rejects.toThrow(
      'huge.png: the file is 20.0 MB; images may be at most 20.0 MB.',
    );
  });
});

describe('imageToPixels on real items', () => {
  it('recovers Fashion-MNIST items photographed dark-on-white, enlarged and off-centre', async () => {
    const { images } = readIdxSplit('/usr/share/datasets/fashion-mnist', 't10k');
    for (let i = 0; i < 5; i++) {
      const original = images.pixels.slice(i * 784, (i + 1) * 784);
      const photo = await sharp(Buffer.from(original.map((v) => 255 - v)), {
        raw: { width: 28, height: 28, channels: 1 },
      })
        .resize(112, 112)
        .extend({ top: 20, bottom: 40, left: 30, right: 10, background: '#ffffff' })
        .png()
        .toBuffer();
      const pixels = await imageToPixels(photo, `item-${i}.png`);
      let error = 0;
      for (let k = 0; k < 784; k++) error += Math.abs(pixels[k]! - original[k]!);
      // Resampling twice costs ~14 grey levels on average; a wrong inversion or offset costs 60+.
      expect(error / 784).toBeLessThan(25);
    }
  });
});

describe('readImageFiles', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-images-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('expands a folder to its image files sorted by name, ignoring others', async () => {
    await canvas(darkSquareOnWhite).png().toFile(path.join(dir, 'b.png'));
    await canvas(darkSquareOnWhite).jpeg().toFile(path.join(dir, 'a.JPG'));
    fs.writeFileSync(path.join(dir, 'readme.txt'), 'not an image');
    const results = await readImageFiles([dir]);
    expect(results.map((r) => path.basename(r.source))).toEqual(['a.JPG', 'b.png']);
    expect(results.every((r) => r.pixels.length === 784)).toBe(true);
  });

  it('reports a missing path', async () => {
    await expect(readImageFiles([path.join(dir, 'nope.png')])).rejects.toThrow(/nope\.png: no such file or folder/);
  });
});
