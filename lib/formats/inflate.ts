import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AppError, badInput } from '@/lib/errors';

// Gzip detection by content and inflation capped at a byte budget, for uploads whose
// compressed size says nothing about how far they inflate.

export function describeSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function isGzip(buf: Uint8Array): boolean {
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
export function decompressIfGzip(buf: Uint8Array, source: string, maxBytes: number): Uint8Array {
  if (!isGzip(buf)) return buf;
  try {
    return new Uint8Array(gunzipSync(buf, { maxOutputLength: maxBytes }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLargeDecompressed(source, maxBytes);
    const reason = error instanceof Error ? error.message : String(error);
    throw badInput(`${source}: the file looks gzip-compressed but does not decompress (${reason}).`);
  }
}

/** The first `count` bytes of a file (fewer if it is shorter), e.g. to sniff the gzip magic. */
export async function firstBytes(filePath: string, count: number): Promise<Uint8Array> {
  const handle = await fs.promises.open(/*turbopackIgnore: true*/ filePath, 'r');
  try {
    const buf = new Uint8Array(count);
    const { bytesRead } = await handle.read(buf, 0, count, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
