import fs from 'node:fs';
import path from 'node:path';
import { AppError, badInput } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import { decompressIfGzip } from '@/lib/formats/inflate';

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
export const IMAGES_HEADER_BYTES = 16;
export const LABELS_HEADER_BYTES = 8;
const FASHION_MNIST_SIDE = 28;

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

export function readHeader(data: Uint8Array, source: string, opts: Omit<IdxSpec, 'what'> & { what: string }) {
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

export interface IdxSpec {
  magic: number;
  headerBytes: number;
  what: 'images' | 'labels';
}

export const IMAGES_SPEC: IdxSpec = { magic: IMAGES_MAGIC, headerBytes: IMAGES_HEADER_BYTES, what: 'images' };
export const LABELS_SPEC: IdxSpec = { magic: LABELS_MAGIC, headerBytes: LABELS_HEADER_BYTES, what: 'labels' };

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
