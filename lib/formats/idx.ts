import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import { AppError, badInput } from '@/lib/errors';
import { getEnv } from '@/lib/env';

/** Images from an IDX file: `count` images of rows x cols bytes, row-major, one after another. */
export interface ImageSet {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

/**
 * How much an IDX file may hold once decompressed. A gzip of zeros inflates ~1000:1, so the
 * compressed size says nothing: the cap is the smaller of what the header declares and these.
 */
export interface IdxLimits {
  /** Decompressed bytes, header included; default LOUPE_IMPORT_MAX_BYTES. */
  maxBytes?: number;
  /** Images (or labels) the header may declare; default no cap beyond maxBytes. */
  maxItems?: number;
}

// IDX magic: two zero bytes, a type code (0x08 = unsigned byte), then the number of dimensions.
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const IMAGES_HEADER_BYTES = 16;
const LABELS_HEADER_BYTES = 8;
const FASHION_MNIST_SIDE = 28;

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function describeSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

function tooLargeDecompressed(source: string, maxBytes: number): AppError {
  return new AppError(
    'too_large',
    `${source}: decompresses to more than ${describeSize(maxBytes)}, the most an import may hold (LOUPE_IMPORT_MAX_BYTES); split the data into smaller files.`,
  );
}

/**
 * Gzip is detected by content (0x1f 0x8b), not by the file name, so a renamed file still reads.
 * Inflation stops at `maxBytes`, so a small bomb cannot take the process's memory.
 */
function decompressIfGzip(buf: Uint8Array, source: string, maxBytes: number): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return new Uint8Array(gunzipSync(buf, { maxOutputLength: maxBytes }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLargeDecompressed(source, maxBytes);
    const reason = error instanceof Error ? error.message : String(error);
    throw badInput(`${source}: the file looks gzip-compressed but does not decompress (${reason}).`);
  }
}

function readHeader(data: Uint8Array, source: string, opts: Omit<IdxSpec, 'what'> & { what: string }) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // The magic number first: "this is a labels file" helps more than "the header is short".
  if (data.length >= 4 && view.getUint32(0, false) !== opts.magic) {
    throw badInput(
      `${source}: wrong magic number ${hex(view.getUint32(0, false))} at byte 0 (an IDX ${opts.what} file starts with ${hex(opts.magic)}); is this the right file?`,
    );
  }
  if (data.length < opts.headerBytes) {
    throw badInput(
      `${source}: truncated: an IDX ${opts.what} file needs a ${opts.headerBytes}-byte header but the file has ${data.length} bytes.`,
    );
  }
  return view;
}

function checkLength(data: Uint8Array, source: string, expected: number, description: string): void {
  if (data.length < expected) {
    throw badInput(
      `${source}: truncated: header says ${description} (${expected} bytes) but the file has ${data.length} bytes.`,
    );
  }
  if (data.length > expected) {
    throw badInput(
      `${source}: header says ${description} (${expected} bytes) but the file has ${data.length - expected} extra bytes after byte ${expected}.`,
    );
  }
}

export function parseIdxImages(buf: Uint8Array, source: string, limits: IdxLimits = {}): ImageSet {
  const data = decompressIfGzip(buf, source, limits.maxBytes ?? getEnv().LOUPE_IMPORT_MAX_BYTES);
  const view = readHeader(data, source, { magic: IMAGES_MAGIC, headerBytes: IMAGES_HEADER_BYTES, what: 'images' });
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows === 0 || cols === 0) {
    throw badInput(`${source}: header says images of ${rows}x${cols}; an image needs at least one row and column.`);
  }
  const expected = IMAGES_HEADER_BYTES + count * rows * cols;
  checkLength(data, source, expected, `${count} images of ${rows}x${cols}`);
  // A copy, so the result does not pin a larger decompressed buffer and callers may mutate it.
  return { count, rows, cols, pixels: data.slice(IMAGES_HEADER_BYTES) };
}

export function parseIdxLabels(buf: Uint8Array, source: string, limits: IdxLimits = {}): Uint8Array {
  const data = decompressIfGzip(buf, source, limits.maxBytes ?? getEnv().LOUPE_IMPORT_MAX_BYTES);
  const view = readHeader(data, source, { magic: LABELS_MAGIC, headerBytes: LABELS_HEADER_BYTES, what: 'labels' });
  const count = view.getUint32(4, false);
  checkLength(data, source, LABELS_HEADER_BYTES + count, `${count} labels`);
  return data.slice(LABELS_HEADER_BYTES);
}

interface IdxSpec {
  magic: number;
  headerBytes: number;
  what: 'images' | 'labels';
}

const IMAGES_SPEC: IdxSpec = { magic: IMAGES_MAGIC, headerBytes: IMAGES_HEADER_BYTES, what: 'images' };
const LABELS_SPEC: IdxSpec = { magic: LABELS_MAGIC, headerBytes: LABELS_HEADER_BYTES, what: 'labels' };

/**
 * Takes an IDX file's (decompressed) bytes as they stream in and keeps exactly what the header
 * declares: the header decides the size, so the buffer is allocated once, a header declaring
 * more than the limits is refused before any pixel is read, and the first byte past the
 * declared end is refused without reading further.
 */
class BoundedIdxCollector {
  private readonly header: Uint8Array;
  private headerFilled = 0;
  private data: Uint8Array | null = null;
  private filled = 0;
  private description = '';

  constructor(
    private readonly spec: IdxSpec,
    private readonly source: string,
    private readonly limits: { maxBytes: number; maxItems?: number; side?: number },
  ) {
    this.header = new Uint8Array(spec.headerBytes);
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    if (!this.data) {
      offset = Math.min(chunk.length, this.spec.headerBytes - this.headerFilled);
      this.header.set(chunk.subarray(0, offset), this.headerFilled);
      this.headerFilled += offset;
      if (this.headerFilled < this.spec.headerBytes) return;
      this.data = new Uint8Array(this.declaredBytes());
      this.data.set(this.header);
      this.filled = this.spec.headerBytes;
    }
    const rest = chunk.length - offset;
    if (this.filled + rest > this.data.length) {
      throw badInput(
        `${this.source}: header says ${this.description} (${this.data.length} bytes) but the file goes on past byte ${this.data.length}.`,
      );
    }
    this.data.set(chunk.subarray(offset), this.filled);
    this.filled += rest;
  }

  finish(): Uint8Array {
    if (!this.data) {
      readHeader(this.header.subarray(0, this.headerFilled), this.source, this.spec);
      throw badInput(`${this.source}: truncated IDX ${this.spec.what} header.`);
    }
    if (this.filled < this.data.length) {
      throw badInput(
        `${this.source}: truncated: header says ${this.description} (${this.data.length} bytes) but the file has ${this.filled} bytes.`,
      );
    }
    return this.data;
  }

  /** Validates the header and the limits; the file's total size as the header declares it. */
  private declaredBytes(): number {
    const view = readHeader(this.header, this.source, this.spec);
    const count = view.getUint32(4, false);
    const { maxBytes, maxItems, side } = this.limits;
    let bytes = this.spec.headerBytes + count;
    this.description = `${count} labels`;
    if (this.spec.what === 'images') {
      const rows = view.getUint32(8, false);
      const cols = view.getUint32(12, false);
      if (rows === 0 || cols === 0) {
        throw badInput(
          `${this.source}: header says images of ${rows}x${cols}; an image needs at least one row and column.`,
        );
      }
      if (side !== undefined && (rows !== side || cols !== side)) {
        throw badInput(`${this.source}: images are ${rows}x${cols}; Loupe needs ${side}x${side}.`);
      }
      bytes = this.spec.headerBytes + count * rows * cols;
      this.description = `${count} images of ${rows}x${cols}`;
    }
    if (maxItems !== undefined && count > maxItems) {
      throw new AppError(
        'too_large',
        `${this.source}: the header declares ${count} ${this.spec.what}; one upload may hold at most ${maxItems}. Split the file, or import it on the server with npm run import.`,
      );
    }
    if (bytes > maxBytes) {
      throw new AppError(
        'too_large',
        `${this.source}: the header declares ${this.description} (${describeSize(bytes)}); an import may hold at most ${describeSize(maxBytes)} (LOUPE_IMPORT_MAX_BYTES). Split the data into smaller files.`,
      );
    }
    return bytes;
  }
}

async function firstBytes(filePath: string, count: number): Promise<Uint8Array> {
  const handle = await fs.promises.open(/*turbopackIgnore: true*/ filePath, 'r');
  try {
    const buf = new Uint8Array(count);
    const { bytesRead } = await handle.read(buf, 0, count, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Streams an IDX file from disk (gzip detected by content), inflating chunk by chunk into a
 * buffer of exactly the size its header declares. Memory stays at the declared size however
 * far the file would inflate, and the event loop is free between chunks. Also returns the
 * SHA-256 of the file as stored (compressed or not), which import provenance keys on.
 */
async function streamIdxFile(
  filePath: string,
  spec: IdxSpec,
  options: IdxLimits & { source?: string; side?: number },
): Promise<{ data: Uint8Array; sha256: string }> {
  const source = options.source ?? path.basename(filePath);
  const maxBytes = options.maxBytes ?? getEnv().LOUPE_IMPORT_MAX_BYTES;
  const collector = new BoundedIdxCollector(spec, source, { maxBytes, maxItems: options.maxItems, side: options.side });
  const gzip = isGzip(await firstBytes(filePath, 2));
  const hash = createHash('sha256');
  const input = fs.createReadStream(/*turbopackIgnore: true*/ filePath);
  input.on('data', (chunk) => hash.update(chunk));
  const inflate = gzip ? createGunzip() : null;
  if (inflate) {
    input.on('error', (error) => inflate.destroy(error));
    input.pipe(inflate);
  }
  const stream = inflate ?? input;
  try {
    for await (const chunk of stream) collector.push(chunk as Uint8Array);
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    if (gzip) throw badInput(`${source}: the file looks gzip-compressed but does not decompress (${reason}).`);
    throw new AppError('internal', `${source}: could not be read.`, { cause: error });
  } finally {
    input.destroy();
    inflate?.destroy();
  }
  return { data: collector.finish(), sha256: hash.digest('hex') };
}

/** An IDX images file read from disk within `limits` (see streamIdxFile); `side` demands square images of that size. */
export async function readIdxImagesFile(
  filePath: string,
  options: IdxLimits & { source?: string; side?: number } = {},
): Promise<{ images: ImageSet; sha256: string }> {
  const { data, sha256 } = await streamIdxFile(filePath, IMAGES_SPEC, options);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const images = {
    count: view.getUint32(4, false),
    rows: view.getUint32(8, false),
    cols: view.getUint32(12, false),
    pixels: data.subarray(IMAGES_HEADER_BYTES),
  };
  return { images, sha256 };
}

/** An IDX labels file read from disk within `limits` (see streamIdxFile). */
export async function readIdxLabelsFile(
  filePath: string,
  options: IdxLimits & { source?: string } = {},
): Promise<{ labels: Uint8Array; sha256: string }> {
  const { data, sha256 } = await streamIdxFile(filePath, LABELS_SPEC, options);
  return { labels: data.subarray(LABELS_HEADER_BYTES), sha256 };
}

/** `<dir>/<name>` if present, else `<dir>/<name>.gz`; the raw file wins when both exist. */
function locateIdxFile(dir: string, name: string): string {
  for (const candidate of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    if (fs.existsSync(/*turbopackIgnore: true*/ candidate)) return candidate;
  }
  throw new AppError('not_found', `${path.join(dir, name)}[.gz]: file not found.`);
}

/** Reads one Fashion-MNIST-style split (train or t10k) from a folder of IDX files. */
export function readIdxSplit(dir: string, split: 'train' | 't10k'): { images: ImageSet; labels: Uint8Array } {
  const imagesPath = locateIdxFile(dir, `${split}-images-idx3-ubyte`);
  const labelsPath = locateIdxFile(dir, `${split}-labels-idx1-ubyte`);
  const imagesName = path.basename(imagesPath);
  const labelsName = path.basename(labelsPath);
  const images = parseIdxImages(fs.readFileSync(/*turbopackIgnore: true*/ imagesPath), imagesName);
  if (images.rows !== FASHION_MNIST_SIDE || images.cols !== FASHION_MNIST_SIDE) {
    throw badInput(
      `${imagesName}: images are ${images.rows}x${images.cols}; Loupe needs ${FASHION_MNIST_SIDE}x${FASHION_MNIST_SIDE}.`,
    );
  }
  const labels = parseIdxLabels(fs.readFileSync(/*turbopackIgnore: true*/ labelsPath), labelsName);
  if (labels.length !== images.count) {
    throw badInput(
      `${labelsName}: has ${labels.length} labels but ${imagesName} has ${images.count} images; they must match.`,
    );
  }
  return { images, labels };
}

/** An IDX images file (magic 0x00000803): the inverse of parseIdxImages, uncompressed. */
export function encodeIdxImages(images: ImageSet): Uint8Array {
  if (images.pixels.length !== images.count * images.rows * images.cols) {
    throw badInput(
      `encodeIdxImages: ${images.count} images of ${images.rows}x${images.cols} need ${images.count * images.rows * images.cols} bytes, got ${images.pixels.length}.`,
    );
  }
  const out = new Uint8Array(IMAGES_HEADER_BYTES + images.pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IMAGES_MAGIC, false);
  view.setUint32(4, images.count, false);
  view.setUint32(8, images.rows, false);
  view.setUint32(12, images.cols, false);
  out.set(images.pixels, IMAGES_HEADER_BYTES);
  return out;
}

/** An IDX labels file (magic 0x00000801): the inverse of parseIdxLabels, uncompressed. */
export function encodeIdxLabels(labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(LABELS_HEADER_BYTES + labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, LABELS_MAGIC, false);
  view.setUint32(4, labels.length, false);
  out.set(labels, LABELS_HEADER_BYTES);
  return out;
}
