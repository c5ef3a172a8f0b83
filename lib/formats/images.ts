import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError, badInput } from '@/lib/errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';

export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);
const ACCEPTED_FORMATS = new Set(['png', 'jpeg', 'webp']);
/** Photos are shrunk to this before analysis: plenty for a 28 px result, and bounded work. */
const WORK_SIZE = 256;
/** JPEG noise around a flat background stays below this after inversion; it is cut to 0. */
const NOISE_MARGIN = 10;
/** Below this contrast (0-255) between background and brightest pixel, there is no object. */
const MIN_CONTRAST = 24;
/**
 * A pixel belongs to the object's bounding box above this level (after levelling to 0-255).
 * Low, because Fashion-MNIST boxes include faint edge pixels (tuned on a t10k round trip).
 */
const OBJECT_THRESHOLD = 10;

interface Gray {
  data: Uint8Array;
  width: number;
  height: number;
}

function describeSize(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function tooLarge(source: string, bytes: number): AppError {
  return badInput(
    `${source}: the file is ${describeSize(bytes)}; images may be at most ${describeSize(MAX_IMAGE_BYTES)}.`,
  );
}

/** Single channel of a raw sharp buffer, whatever channel count sharp chose to emit. */
function firstChannel(data: Buffer, channels: number): Uint8Array {
  if (channels === 1) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels]!;
  return out;
}

async function decodeGray(input: Buffer, source: string): Promise<Gray> {
  let format: string | undefined;
  try {
    format = (await sharp(input).metadata()).format;
  } catch {
    throw badInput(`${source}: the file is not an image that can be decoded; use PNG, JPEG or WebP.`);
  }
  if (!format || !ACCEPTED_FORMATS.has(format)) {
    throw badInput(`${source}: ${format ?? 'this'} images are not accepted; use PNG, JPEG or WebP.`);
  }
  try {
    const { data, info } = await sharp(input, { failOn: 'error' })
      .rotate() // honour EXIF orientation from phone photos
      .flatten({ background: '#ffffff' }) // transparent product cut-outs sit on white
      .resize(WORK_SIZE, WORK_SIZE, { fit: 'inside', withoutEnlargement: true })
      .grayscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data: firstChannel(data, info.channels), width: info.width, height: info.height };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw badInput(`${source}: the ${format.toUpperCase()} image does not decode (${reason}).`);
  }
}

function meanOfBorder({ data, width, height }: Gray): number {
  let sum = 0;
  let n = 0;
  for (let x = 0; x < width; x++) {
    sum += data[x]! + data[(height - 1) * width + x]!;
    n += 2;
  }
  for (let y = 1; y < height - 1; y++) {
    sum += data[y * width]! + data[y * width + width - 1]!;
    n += 2;
  }
  return sum / n;
}

/**
 * Turns the image into Fashion-MNIST's convention (light object, black background, full
 * 0-255 range): invert when the background is light, then stretch background..brightest to
 * 0..255 so a grey backdrop or a pale garment looks like the training data.
 */
function normaliseLevels(gray: Gray, source: string): Gray {
  const invert = meanOfBorder(gray) > 127;
  const data = invert ? gray.data.map((v) => 255 - v) : gray.data.slice();
  const background = meanOfBorder({ ...gray, data });
  let brightest = 0;
  for (const v of data) if (v > brightest) brightest = v;
  if (brightest - background < MIN_CONTRAST) {
    throw badInput(`${source}: no object stands out from the background (the image is blank or nearly uniform).`);
  }
  const low = Math.min(background + NOISE_MARGIN, brightest - 1);
  const scale = 255 / (brightest - low);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.round((data[i]! - low) * scale));
  return { ...gray, data };
}

function findBoundingBox({ data, width, height }: Gray) {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x]! <= OBJECT_THRESHOLD) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  // normaliseLevels guarantees a pixel at 255, so the box is never empty.
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * Decodes a PNG/JPEG/WebP product photo into 784 bytes laid out like a Fashion-MNIST item.
 *
 * Fashion-MNIST was made by trimming each photo to the product, scaling the longer side to
 * 28 px and centring on a 28x28 canvas. Measured on t10k: in 99% of images the non-zero
 * pixels span exactly 28 px on the longer side (the rest 27) and the box centre is at
 * (13.6, 13.7). So the object's longer side is scaled to fill all 28 px, and the bounding
 * box (not the centre of mass, as MNIST digits do) is centred.
 */
export async function imageToPixels(input: Buffer, source: string): Promise<Uint8Array> {
  if (input.length > MAX_IMAGE_BYTES) throw tooLarge(source, input.length);
  const gray = normaliseLevels(await decodeGray(input, source), source);
  const box = findBoundingBox(gray);
  const { data, info } = await sharp(gray.data, { raw: { width: gray.width, height: gray.height, channels: 1 } })
    .extract(box)
    .resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const object = firstChannel(data, info.channels);
  const pixels = new Uint8Array(PIXELS_PER_IMAGE);
  const offsetX = Math.floor((IMAGE_SIZE - info.width) / 2);
  const offsetY = Math.floor((IMAGE_SIZE - info.height) / 2);
  for (let y = 0; y < info.height; y++) {
    pixels.set(object.subarray(y * info.width, (y + 1) * info.width), (offsetY + y) * IMAGE_SIZE + offsetX);
  }
  return pixels;
}

async function expandPath(entry: string): Promise<string[]> {
  const stat = await fs.stat(entry).catch(() => null);
  if (!stat) throw new AppError('not_found', `${entry}: no such file or folder.`);
  if (!stat.isDirectory()) return [entry];
  const names = (await fs.readdir(entry)).filter((name) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()));
  if (names.length === 0) throw badInput(`${entry}: the folder holds no .png, .jpg, .jpeg or .webp files.`);
  return names.sort().map((name) => path.join(entry, name));
}

/**
 * Reads and converts image files; a folder stands for its image files (not recursive, sorted
 * by name). Any bad file rejects the whole batch, so a caller can import all or nothing.
 */
export async function readImageFiles(paths: string[]): Promise<{ source: string; pixels: Uint8Array }[]> {
  const files = (await Promise.all(paths.map(expandPath))).flat();
  const results: { source: string; pixels: Uint8Array }[] = [];
  // One at a time: sharp already uses a thread pool, and this bounds memory for big folders.
  for (const file of files) {
    const { size } = await fs.stat(file);
    if (size > MAX_IMAGE_BYTES) throw tooLarge(file, size);
    results.push({ source: file, pixels: await imageToPixels(await fs.readFile(file), file) });
  }
  return results;
}
