import { AppError, badInput } from '@/lib/errors';

/**
 * Reads a multipart (or urlencoded) body, refusing it with 413 once it passes `maxBytes`:
 * at once when Content-Length says so, otherwise while it streams in, so an oversized upload
 * is never held in memory whole. `describe` turns the size into the sentence the client sees.
 */
export async function readFormWithLimit(
  request: Request,
  options: { maxBytes: number; describe: (bytes: number | null) => string },
): Promise<FormData> {
  const { maxBytes, describe } = options;
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw new AppError('too_large', describe(declared));
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data|^application\/x-www-form-urlencoded/i.test(contentType)) {
    throw badInput('Send the upload as multipart/form-data.');
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel();
        throw new AppError('too_large', describe(null));
      }
      chunks.push(value);
    }
  }
  try {
    return await new Response(Buffer.concat(chunks), { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw badInput('The upload could not be read as a form; send it as multipart/form-data.');
  }
}
