import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { AppError, badInput } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import {
  IMAGES_HEADER_BYTES,
  IMAGES_SPEC,
  LABELS_HEADER_BYTES,
  LABELS_SPEC,
  readHeader,
  type IdxLimits,
  type IdxSpec,
  type ImageSet,
} from '@/lib/formats/idx';
import { describeSize, firstBytes, isGzip } from '@/lib/formats/inflate';

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
